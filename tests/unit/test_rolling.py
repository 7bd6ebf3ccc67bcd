"""War mode's rolling upgrade: the plan, the order, and the waits of a swap, run in a local shell
(a stand-in client prints the replication status; a loopback server plays the health page)."""

import hashlib
import http.server
import subprocess
import threading
import zipfile

import pytest

from operations import paths
from operations.phases.app import rolling

A, B = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def sh(command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=60)


# ---------------------------------------------------------------- identity, plan, order


def test_a_war_files_identity_is_its_sha256(tmp_path):
    war = tmp_path / "qm.war"
    with zipfile.ZipFile(war, "w") as z:
        z.writestr("qm.jsp", "v1")
    assert rolling.war_identity(war) == "sha256:" + hashlib.sha256(war.read_bytes()).hexdigest()


def test_an_unpacked_wars_identity_changes_with_any_file(tmp_path):
    (tmp_path / "WEB-INF").mkdir()
    (tmp_path / "WEB-INF" / "qm.jar").write_text("1")
    before = rolling.war_identity(tmp_path)
    (tmp_path / "WEB-INF" / "qm.jar").write_text("2")
    assert rolling.war_identity(tmp_path) != before and before.startswith("sha256:")


def test_a_node_running_the_war_needs_nothing():
    assert rolling.war_plan(A, staged=A, running=A) == "nothing"
    assert rolling.war_plan(A, staged=B, running=A) == "nothing"


def test_a_war_staged_whole_and_not_running_is_swapped_in():
    assert rolling.war_plan(A, staged=A, running=B) == "swap"
    assert rolling.war_plan(A, staged=A, running=None) == "swap"


def test_a_new_war_is_staged_first():
    assert rolling.war_plan(A, staged=None, running=B) == "stage"
    assert rolling.war_plan(A, staged=B, running=B) == "stage"
    assert rolling.war_plan(A, staged=None, running=None) == "stage"  # a fresh node


def test_node_a_rolls_first_and_node_b_waits_for_it():
    order = rolling.roll_order(["node-a", "node-b"])
    assert order == ("node-a", "node-b")
    assert rolling.waits_for("node-a", order) is None
    assert rolling.waits_for("node-b", order) == "node-a"


# ---------------------------------------------------------------- caught up


def fake_client(tmp_path, status: str) -> str:
    """A client that prints STATUS for SHOW SLAVE STATUS (as ``mariadb -e '...\\G'`` does)."""
    script = tmp_path / "client"
    (tmp_path / "status").write_text(status)
    script.write_text(f"#!/bin/sh\ncat {tmp_path / 'status'}\n")
    script.chmod(0o755)
    return str(script)


def status(sql="Yes", read=500, executed=500, read_file="bin.000002", exec_file="bin.000002") -> str:
    return ("*************************** 1. row ***************************\n"
            f"                Slave_IO_State: Waiting for master to send event\n"
            f"               Master_Log_File: {read_file}\n"
            f"           Read_Master_Log_Pos: {read}\n"
            f"         Relay_Master_Log_File: {exec_file}\n"
            f"              Slave_IO_Running: Yes\n"
            f"             Slave_SQL_Running: {sql}\n"
            f"           Exec_Master_Log_Pos: {executed}\n")


def test_a_channel_that_applied_all_it_received_is_caught_up(tmp_path):
    assert sh(rolling.caught_up_command(fake_client(tmp_path, status()), seconds=2)).returncode == 0


def test_a_channel_behind_what_it_received_is_waited_for_then_refused(tmp_path):
    behind = sh(rolling.caught_up_command(fake_client(tmp_path, status(read=900, executed=500)), seconds=2))
    assert behind.returncode == 1 and "did not apply what it received within 2 s" in behind.stderr


def test_a_channel_on_an_older_relay_file_is_not_caught_up(tmp_path):
    older = status(read=100, executed=100, exec_file="bin.000001")
    assert sh(rolling.caught_up_command(fake_client(tmp_path, older), seconds=1)).returncode == 1


def test_a_stopped_sql_thread_fails_at_once_with_the_fix(tmp_path):
    stopped = sh(rolling.caught_up_command(fake_client(tmp_path, status(sql="No")), seconds=60))
    assert stopped.returncode == 1 and "repair it before an upgrade" in stopped.stderr


# ---------------------------------------------------------------- QMUP


@pytest.fixture
def health_page():
    """A loopback server answering sysup.jsp with the state in ``answer[0]``; its port."""
    answer = ['{"state":"DBDOWN"}']

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = answer[0].encode()
            self.send_response(200 if "QMUP" in answer[0] else 503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], answer
    server.shutdown()


def test_qmup_is_awaited_on_the_health_page(health_page):
    port, answer = health_page
    answer[0] = '{"state":"QMUP","app":"node-a"}'
    assert sh(rolling.qmup_command(port, seconds=3)).returncode == 0


def test_a_health_page_without_qmup_fails_within_its_bound(health_page):
    port, _ = health_page
    down = sh(rolling.qmup_command(port, seconds=2))
    assert down.returncode == 1 and "did not say QMUP within 2 s" in down.stderr


# ---------------------------------------------------------------- the swap


def swap(peer):
    return rolling.swap_command("tomcat10", "/var/lib/tomcat10/webapps/queuemetrics", A, 8080, "mariadb",
                                "queuemetrics", "node-b" if peer else "node-a", peer)


def test_a_swap_waits_for_the_peer_then_the_channel_then_stops_tomcat():
    text = swap("node-a")
    order = [text.index(s) for s in ("qmha_rollout WHERE node", "SHOW SLAVE STATUS", "systemctl stop tomcat10",
                                     f"cp -a {paths.WEBAPP_NEXT}/.", "systemctl start tomcat10", "QMUP",
                                     f"> {paths.WAR_RUNNING}.tmp", "sleep 10", "REPLACE INTO")]
    assert order == sorted(order)


def test_the_first_node_waits_for_no_peer():
    assert "WHERE node" not in swap(None)


def test_a_swap_runs_under_a_lock_and_only_for_the_staged_identity():
    text = swap(None)
    assert text.startswith(f"exec 9>{paths.WAR_SWAP_LOCK} && flock -w")
    assert f"cat {paths.WEBAPP_NEXT_ID}" in text.split("systemctl stop")[0]


def test_a_swap_an_earlier_run_finished_only_reports_again(tmp_path):
    text = swap(None)
    already = text.index(f"if [ \"$(cat {paths.WAR_RUNNING} 2>/dev/null)\" != ")
    assert already < text.index("systemctl stop") < text.index("; fi; ") < text.index("REPLACE INTO")
