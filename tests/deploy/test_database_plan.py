"""The database phase's watchdog on fresh CentOS 7 / EL 8 / EL 9 / Debian 12 nodes, from recorded facts: a hung
MariaDB is killed and its unit starts it again, with the platform's own admin tool."""

import pytest

from operations import paths
from operations.phases import database
from operations.platform import PLATFORMS
from operations.render import render
from tests.deploy.harness import find, run


def script(ops) -> str:
    return find(ops, rf"^{paths.DB_WATCHDOG_SCRIPT}$").text


@pytest.mark.parametrize("os_key", ["el7", "el8", "el9", "debian12"])
def test_every_node_gets_a_root_only_watchdog_that_runs(tmp_path, os_key):
    ops = run(database.watchdog, os_key, tmp_path)
    for node in ("node-a", "node-b"):
        assert f"chmod 700 {paths.DB_WATCHDOG_SCRIPT}" in script(ops[node])
        assert find(ops[node], rf"^{database.WATCHDOG} running$").text  # enabled and started on a fresh node
        assert "/etc/systemd/system/mariadb.service.d/qmha-restart.conf" in find(ops[node], "starts again after a crash").text


def test_the_watchdog_is_not_started_when_both_its_knobs_are_zero(tmp_path):
    data = {"qm_db_watchdog_s": 0, "qm_db_min_free_mb": 0}
    ops = run(database.watchdog, "debian12", tmp_path, data=data)["node-a"]
    assert find(ops, rf"^{database.WATCHDOG} off$").text == ""  # not running on a fresh node: nothing to stop
    assert not [op for op in ops if "restarted" in op.name]  # nothing to restart either
    assert not [op for op in ops if op.name.endswith(f"{database.WATCHDOG} running")]


def render_script(os_key: str = "debian12", silent_s: int = 2, min_free_mb: int = 100) -> str:
    return render("mariadb/qmha-db-watchdog.sh.j2", **database.watchdog_values(PLATFORMS[os_key], silent_s, min_free_mb))


@pytest.mark.parametrize("os_key, admin", [("el7", "mysqladmin"), ("el8", "mysqladmin"), ("el9", "mariadb-admin"),
                                           ("debian12", "mariadb-admin")])
def test_the_watchdog_pings_with_the_platforms_admin_tool(os_key, admin):
    assert f" {admin} --connect-timeout=" in render_script(os_key)


def test_the_database_is_killed_after_the_knobs_seconds_of_unanswered_pings():
    text = render_script(silent_s=5)
    assert '[ "$misses" -ge 5 ]' in text
    assert "systemctl kill --signal=KILL mariadb" in text
    assert "logger -t qmha-db-watchdog" in text


def test_a_ping_is_bounded_even_when_the_admin_tool_ignores_termination():
    # mariadb-admin waits out its own read timeout on SIGTERM (2 s measured for a 1 s timeout)
    assert f"timeout --signal=KILL {database.PING_TIMEOUT_S} mariadb-admin" in render_script()


def test_a_server_starting_or_stopping_is_left_alone():
    text = render_script()
    inactive = text[text.index("if ! systemctl is-active --quiet mariadb"):text.index("fi", text.index("is-active"))]
    assert "misses=0" in inactive and "continue" in inactive


def test_every_platforms_unit_restarts_after_an_abnormal_end():
    text = render("mariadb/restart.conf.j2", restart_s=database.RESTART_S)
    assert "Restart=on-abnormal" in text and f"RestartSec={database.RESTART_S}" in text


def test_below_the_free_space_reserve_the_database_is_killed_and_kept_stopped():
    text = render_script(min_free_mb=150)
    low = text[text.index('-lt 150 ]'):]
    low = low[:low.index("fi")]
    assert f"touch {paths.DB_STOPPED_FOR_SPACE}" in low
    assert low.index("systemctl kill --signal=KILL mariadb") < low.index("systemctl stop mariadb")
    assert "df --output=avail -B1M /var/lib/mysql" in text


def test_it_is_started_again_only_after_its_own_stop_and_at_twice_the_reserve():
    text = render_script(min_free_mb=150)
    held = text[text.index(f"if [ -e {paths.DB_STOPPED_FOR_SPACE} ]"):text.index("if ! systemctl is-active")]
    assert '-ge 300 ]' in held and "systemctl start --no-block mariadb" in held
    assert f"rm -f {paths.DB_STOPPED_FOR_SPACE}" in held


def test_each_half_of_the_watchdog_can_be_switched_off_alone():
    no_space = render_script(min_free_mb=0)
    no_hang = render_script(silent_s=0)
    assert "-lt 0 ]" not in no_space and "systemctl stop mariadb" not in no_space and " ping " in no_space
    assert " ping " not in no_hang and "systemctl stop mariadb" in no_hang
