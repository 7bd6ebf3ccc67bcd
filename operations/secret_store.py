"""
Cluster secrets, such as database passwords, kept on the operator's machine.

A secret named ``db_root_password`` comes from the environment variable
``QMHA_DB_ROOT_PASSWORD`` when set; otherwise from an owner-only JSON file. Secrets found
in neither place are generated once and stored in that file, so every later deploy uses
the same values. Generated secrets are 32 letters and digits, safe inside SQL, XML and
shell quoting.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import string
from collections.abc import Mapping
from pathlib import Path

from .atomic import write_atomic

ALPHABET = string.ascii_letters + string.digits
LENGTH = 32


class SecretsError(Exception):
    """The secrets file is unsafe or unreadable."""


def load_or_create(
    path: Path, names: list[str], env: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """
    Return the named secrets, generating and storing the ones not known yet.

    + path: JSON file of generated secrets; it and its directory are created owner-only
    + names: secret names, e.g. ``db_root_password``
    + env: environment; a non-empty ``QMHA_<NAME>`` wins over the file and is never stored

    Raises ``SecretsError`` when the file is readable by group or others, or is not a
    JSON object of strings.

    **Example:**

    .. code:: python

        passwords = load_or_create(
            Path(".qmha/secrets.json"),
            ["db_root_password", "db_replication_password"],
        )
    """
    path = Path(path)
    stored = _read(path)
    missing = [name for name in names if not env.get(_env_name(name)) and name not in stored]
    if missing:
        stored.update({name: _generate() for name in missing})
        _write(path, stored)
    return {name: env.get(_env_name(name)) or stored[name] for name in names}


def _env_name(name: str) -> str:
    return f"QMHA_{name.upper()}"


def _generate() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def _read(path: Path) -> dict[str, str]:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}
    if mode & 0o077:
        raise SecretsError(
            f"{path}: secrets file is accessible by group or others ({stat.filemode(mode)}). "
            f"Fix: chmod 600 {path}"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise SecretsError(
            f"{path}: not a readable secrets file (a JSON object of names to strings). "
            "Fix: repair it, or move it away to generate new secrets; servers already "
            "set up with the old ones then need them changed as well."
        )
    return data


def _write(path: Path, data: dict[str, str]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomic(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode(), 0o600)
