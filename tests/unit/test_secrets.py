import json
import re
import stat

import pytest

from operations.secret_store import SecretsError, load_or_create

NAMES = ["db_root_password", "db_replication_password"]


@pytest.fixture
def path(tmp_path):
    return tmp_path / "state" / "secrets.json"


def write_file(path, data, mode=0o600):
    path.parent.mkdir(mode=0o700, exist_ok=True)
    path.write_text(json.dumps(data))
    path.chmod(mode)


def test_generated_secret_is_32_letters_and_digits(path):
    values = load_or_create(path, NAMES, env={})
    assert all(re.fullmatch(r"[A-Za-z0-9]{32}", value) for value in values.values())


def test_generated_secrets_differ(path):
    values = load_or_create(path, NAMES, env={})
    assert values["db_root_password"] != values["db_replication_password"]


def test_generated_secret_is_reused(path):
    first = load_or_create(path, NAMES, env={})
    assert load_or_create(path, NAMES, env={}) == first


def test_new_name_keeps_existing_secrets(path):
    first = load_or_create(path, NAMES[:1], env={})
    second = load_or_create(path, NAMES, env={})
    assert second["db_root_password"] == first["db_root_password"]
    assert load_or_create(path, NAMES, env={}) == second


def test_file_and_directory_are_owner_only(path):
    load_or_create(path, NAMES, env={})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_env_overrides_file(path):
    write_file(path, {"db_root_password": "fromfile"})
    values = load_or_create(path, ["db_root_password"], env={"QMHA_DB_ROOT_PASSWORD": "fromenv"})
    assert values == {"db_root_password": "fromenv"}


def test_env_value_is_never_written(path):
    load_or_create(path, NAMES, env={"QMHA_DB_ROOT_PASSWORD": "fromenv"})
    stored = json.loads(path.read_text())
    assert "fromenv" not in stored.values()
    assert list(stored) == ["db_replication_password"]


def test_env_only_does_not_create_file(path):
    env = {"QMHA_DB_ROOT_PASSWORD": "a", "QMHA_DB_REPLICATION_PASSWORD": "b"}
    load_or_create(path, NAMES, env=env)
    assert not path.exists()


def test_empty_env_value_is_ignored(path):
    write_file(path, {"db_root_password": "fromfile"})
    values = load_or_create(path, ["db_root_password"], env={"QMHA_DB_ROOT_PASSWORD": ""})
    assert values == {"db_root_password": "fromfile"}


def test_existing_file_value_is_used_unchanged(path):
    write_file(path, {"db_root_password": "fromfile", "other": "kept"})
    before = path.read_bytes()
    assert load_or_create(path, ["db_root_password"], env={}) == {"db_root_password": "fromfile"}
    assert path.read_bytes() == before


def test_group_readable_file_is_refused(path):
    write_file(path, {"db_root_password": "fromfile"}, mode=0o640)
    with pytest.raises(SecretsError, match=re.escape(f"chmod 600 {path}")) as error:
        load_or_create(path, NAMES, env={})
    assert "fromfile" not in str(error.value)


def test_corrupt_file_is_refused(path):
    write_file(path, {})
    path.write_text("{not json")
    with pytest.raises(SecretsError, match=re.escape(str(path))):
        load_or_create(path, NAMES, env={})


def test_non_string_values_are_refused(path):
    write_file(path, {"db_root_password": 42})
    with pytest.raises(SecretsError, match=re.escape(str(path))):
        load_or_create(path, NAMES, env={})
