"""The database phase's watchdog on fresh CentOS 7 / Debian 12 nodes, from recorded facts: a hung
MariaDB is killed and its unit starts it again, with the platform's own admin tool."""

import pytest

from operations import paths
from operations.phases import database
from operations.platform import PLATFORMS
from operations.render import render
from tests.deploy.harness import find, run


def script(ops) -> str:
    return find(ops, rf"^{paths.DB_WATCHDOG_SCRIPT}$").text


@pytest.mark.parametrize("os_key", ["el7", "debian12"])
def test_every_node_gets_a_root_only_watchdog_that_runs(tmp_path, os_key):
    ops = run(database.hung_server_watchdog, os_key, tmp_path)
    for node in ("node-a", "node-b"):
        assert f"chmod 700 {paths.DB_WATCHDOG_SCRIPT}" in script(ops[node])
        assert find(ops[node], rf"^{database.WATCHDOG} running$").text  # enabled and started on a fresh node
        assert "/etc/systemd/system/mariadb.service.d/qmha-restart.conf" in find(ops[node], "starts again after a crash").text


def test_the_watchdog_is_not_started_when_its_knob_is_zero(tmp_path):
    ops = run(database.hung_server_watchdog, "debian12", tmp_path, data={"qm_db_watchdog_s": 0})["node-a"]
    assert find(ops, rf"^{database.WATCHDOG} off$").text == ""  # not running on a fresh node: nothing to stop
    assert find(ops, rf"^{database.WATCHDOG} restarted after a change$").text == ""
    assert not [op for op in ops if op.name.endswith(f"{database.WATCHDOG} running")]


def render_script(os_key: str = "debian12", silent_s: int = 2) -> str:
    return render("mariadb/qmha-db-watchdog.sh.j2", **database.watchdog_values(PLATFORMS[os_key], silent_s))


@pytest.mark.parametrize("os_key, admin", [("el7", "mysqladmin"), ("debian12", "mariadb-admin")])
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
