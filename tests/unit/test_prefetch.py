"""Facts read ahead, without nodes: the batch script and how its output is split and processed
(run here by this machine's own shell), the remembered list, and the "already so" checks."""

import hashlib
import json
import subprocess

from pyinfra.api import FactBase
from pyinfra.facts.files import Directory, File, FileContents, Link, Sha256File
from pyinfra.facts.hardware import Ipv4Addrs

from operations.facts.batch import MISSING, UNREAD, Batch, batch_script, part_command, part_value
from operations.facts.system import EpochTime, LocalUser, UnitState
from operations.managed import owned_as, unit_name
from operations.prefetch import fact_key, list_text, parse_list


class Echo(FactBase):
    """Test fact: prints TEXT as it is (printf, so no newline is added)."""

    def command(self, text: str) -> str:
        return f"printf '{text}'"

    def process(self, output):
        return output


class Fails(FactBase):
    def command(self) -> str:
        return "echo partial; exit 3"

    @staticmethod
    def default():
        return "default"


class NeedsTool(FactBase):
    def requires_command(self) -> str:
        return "qmha-no-such-tool"

    def command(self) -> str:
        return "qmha-no-such-tool --version"

    @staticmethod
    def default():
        return "no tool"


class Picky(FactBase):
    def command(self) -> str:
        return "echo not-a-number"

    def process(self, output):
        return int(output[0])


def read(facts, lanes=4):
    batch = Batch()
    script = batch.command(facts=facts, lanes=lanes)
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30, check=True)
    return batch.process(out.stdout.splitlines())


def test_each_part_gets_its_own_output_lines_in_order_whatever_the_lanes():
    facts = [(Echo, {"text": "a\\nb\\n"}), (Echo, {"text": "no newline"}), (Echo, {"text": "x\\n\\n"}),
             (Echo, {"text": "last\\n"}), (Echo, {"text": "five\\n"})]
    expected = [["a", "b"], ["no newline"], ["x", ""], ["last"], ["five"]]
    assert read(facts, lanes=1) == expected
    assert read(facts, lanes=4) == expected


def test_a_part_that_fails_or_prints_nothing_gives_the_fact_default():
    assert read([(Fails, {}), (Echo, {"text": ""})]) == ["default", Echo().default()]


def test_a_part_whose_tool_is_missing_gives_the_fact_default():
    assert read([(NeedsTool, {})]) == ["no tool"]
    assert part_value(NeedsTool(), 0, [MISSING]) == "no tool"


def test_output_the_fact_cannot_process_is_left_to_be_read_alone():
    assert read([(Picky, {}), (Echo, {"text": "ok\\n"})]) == [UNREAD, ["ok"]]


def test_a_fact_keeps_what_its_command_chose_when_processing():
    # FileContents' command sets a flag its processing reads: the same instance does both
    assert read([(FileContents, {"path": "/nonexistent/qmha"})]) == [None]


def test_an_empty_batch_is_a_command_that_prints_nothing():
    assert batch_script([], "M") == "true"


def test_the_key_is_the_same_for_a_tuple_or_a_list_and_fills_defaults():
    assert fact_key(Echo, {"text": "x"}) is None  # a test module: not read ahead
    assert fact_key(UnitState, {"unit": "a.service"}) == fact_key(UnitState, {"unit": "a.service"})
    key = json.loads(fact_key(File, {"path": "/etc/hosts"}))
    assert key == ["pyinfra.facts.files:File", {"path": "/etc/hosts"}]


def test_facts_of_the_moment_and_views_of_other_facts_are_not_read_ahead():
    assert fact_key(EpochTime, {}) is None
    assert fact_key(Ipv4Addrs, {}) is None


def test_the_remembered_list_round_trips_and_skips_what_it_cannot_use():
    keys = [fact_key(Directory, {"path": "/etc"}), fact_key(Sha256File, {"path": "/etc/hosts"}),
            fact_key(LocalUser, {"user": "qmha-sync"})]
    text = list_text(keys + keys)
    entries = json.loads(text)
    entries += [["os:system", {}], ["operations.facts.system:NoSuchFact", {}], ["pyinfra.facts.files:File", {"nope": 1}],
                "garbage", ["operations.facts.system:EpochTime", {}]]
    parsed = parse_list(json.dumps(entries))
    assert sorted(key for _, _, key in parsed) == sorted(keys)
    assert list_text(key for _, _, key in parsed) == text


def test_a_remembered_list_that_is_not_json_reads_nothing_ahead():
    assert parse_list("{not json") == []
    assert parse_list(None) == []


def test_owned_as_checks_only_what_is_asked():
    info = {"user": "root", "group": "tomcat", "mode": 640}
    assert owned_as(info, "root", "tomcat", "0640")
    assert owned_as(info, None, None, None)
    assert not owned_as(info, "root", "root", "0640")
    assert not owned_as(info, "root", "tomcat", "0644")
    assert not owned_as(None, None, None, None)


def test_unit_names_get_the_service_suffix_as_systemd_service_gives_it():
    assert unit_name("nginx") == "nginx.service"
    assert unit_name("qmha-backup.timer") == "qmha-backup.timer"


def test_local_user_reads_home_shell_and_groups():
    fact = LocalUser()
    assert fact.process(["qmha-sync:x:998:998::/var/lib/qm-ha/sync:/bin/sh", "qmha-sync tomcat"]) == {
        "home": "/var/lib/qm-ha/sync", "shell": "/bin/sh", "groups": ["qmha-sync", "tomcat"]}
    assert fact.process([]) is None


def test_unit_state_counts_states_as_pyinfra_does():
    fact = UnitState()
    assert fact.process(["SubState=running", "UnitFileState=enabled"]) == {"active": True, "enabled": True}
    assert fact.process(["SubState=waiting", "UnitFileState=static"]) == {"active": True, "enabled": True}
    assert fact.process(["SubState=dead", "UnitFileState=disabled"]) == {"active": False, "enabled": False}
    assert fact.process(["SubState=dead", "UnitFileState="]) == {"active": False, "enabled": False}


def test_local_user_of_an_account_that_does_not_exist_succeeds_with_nothing():
    fact = LocalUser()
    out = subprocess.run(["sh", "-c", fact.command(user="qmha-no-such-user").get_raw_value()],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout == ""


def test_files_state_and_checksums_are_read_together_and_equal_each_read_alone(tmp_path):
    (tmp_path / "a.conf").write_text("a\n")
    (tmp_path / "dir").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "a.conf")
    facts = [(File, {"path": str(tmp_path / "a.conf")}), (Sha256File, {"path": str(tmp_path / "a.conf")}),
             (Directory, {"path": str(tmp_path / "dir")}), (File, {"path": str(tmp_path / "missing")}),
             (Sha256File, {"path": str(tmp_path / "missing")}), (File, {"path": str(tmp_path / "dir")}),
             (Link, {"path": str(tmp_path / "link")}), (Echo, {"text": "between\\n"})]
    batch = Batch()
    script = batch.command(facts=facts)
    assert script.count("sha256sum") == 1 and script.count("stat -c") == 1
    together = batch.process(subprocess.run(["sh", "-c", script], capture_output=True, text=True,
                                            timeout=30).stdout.splitlines())
    for (cls, kwargs), value in zip(facts, together):
        fact = cls()
        alone = subprocess.run(["sh", "-c", part_command(fact, kwargs)], capture_output=True, text=True, timeout=30)
        assert value == part_value(fact, alone.returncode, alone.stdout.splitlines()), (cls.__name__, kwargs)
    assert together[1] == hashlib.sha256(b"a\n").hexdigest()
    assert together[3] is None and together[5] is False and together[6]["link_target"] == str(tmp_path / "a.conf")


def test_units_states_are_read_together_in_one_systemctl_show_each_block_to_its_unit():
    facts = [(UnitState, {"unit": "nginx.service"}), (UnitState, {"unit": "chrony.service"}),
             (UnitState, {"unit": "nope.service"})]
    batch = Batch()
    script = batch.command(facts=facts)
    assert script.count("systemctl show") == 1
    marker = batch.marker
    # what systemctl prints for the units in the order asked (sorted: chrony, nginx, nope), blank lines between
    output = ["SubState=dead", "UnitFileState=enabled", "", "SubState=running", "UnitFileState=enabled", "",
              "SubState=dead", "UnitFileState=", "", f"{marker} 0"]
    assert batch.process(output) == [{"active": True, "enabled": True}, {"active": False, "enabled": True},
                                     {"active": False, "enabled": False}]


def test_units_output_that_does_not_match_the_units_asked_is_left_to_be_read_alone():
    facts = [(UnitState, {"unit": "nginx.service"}), (UnitState, {"unit": "chrony.service"})]
    batch = Batch()
    batch.command(facts=facts)
    assert batch.process(["SubState=running", "UnitFileState=enabled", "", f"{batch.marker} 0"]) == [UNREAD, UNREAD]
