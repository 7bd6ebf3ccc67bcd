"""The database tier in the lab: master-master both ways, no key clashes, a stopped node catches up,
the customer's dump lands on both nodes, re-runs change nothing, a broken channel is reported and
re-seeded on request. Each test restores what it breaks."""

from __future__ import annotations

import gzip
import secrets
import subprocess
import time

import pytest

from lab import docker, faults

pytestmark = pytest.mark.lab

DB = "queuemetrics"
TABLE = f"{DB}.qmha_test_rows"


@pytest.fixture(scope="module")
def rows(lab):
    """A test table made on node A (it replicates to node B), emptied before each use."""
    lab.sql("node-a", f"CREATE TABLE IF NOT EXISTS {TABLE} (id INT AUTO_INCREMENT PRIMARY KEY, "
                        "origin VARCHAR(16) NOT NULL, token VARCHAR(32) NOT NULL, KEY (token))")
    lab.wait_for(lambda: lab.sql("node-b", f"SHOW TABLES FROM {DB} LIKE 'qmha_test_rows'"), what="table on node-b")
    return TABLE


def count(lab, node: str, token: str) -> int:
    return int(lab.sql(node, f"SELECT COUNT(*) FROM {TABLE} WHERE token = '{token}'")[0][0])


@pytest.mark.parametrize("writer, reader", [("node-a", "node-b"), ("node-b", "node-a")])
def test_row_written_on_one_node_appears_on_the_other(lab, rows, writer, reader):
    token = secrets.token_hex(8)
    lab.sql(writer, f"INSERT INTO {rows} (origin, token) VALUES ('{writer}', '{token}')")
    lab.wait_for(lambda: count(lab, reader, token) == 1, timeout=10, what=f"the row on {reader}")


def test_concurrent_inserts_on_both_nodes_never_clash(lab, rows):
    token, per_node = secrets.token_hex(8), 300
    procs = []
    for name in lab.names:
        script = "".join(f"INSERT INTO {rows} (origin, token) VALUES ('{name}', '{token}');\n" for _ in range(per_node))
        procs.append(subprocess.Popen([docker.docker_binary(), "exec", "-i", lab.container(name), "mariadb"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        procs[-1].stdin.write(script)
        procs[-1].stdin.close()
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    for name in lab.names:
        lab.wait_for(lambda n=name: count(lab, n, token) == 2 * per_node, timeout=60, what=f"all rows on {name}")
    for name, parity in (("node-a", 1), ("node-b", 0)):
        odd_even = lab.sql("node-a", f"SELECT COUNT(*), SUM(id % 2 = {parity}) FROM {rows} "
                                       f"WHERE token = '{token}' AND origin = '{name}'")[0]
        assert odd_even == [str(per_node), str(per_node)], f"{name}'s keys are not all {'odd' if parity else 'even'}"
    checksum = f"SELECT COUNT(*), SUM(CRC32(CONCAT(id, origin))) FROM {rows} WHERE token = '{token}'"
    assert lab.sql("node-a", checksum) == lab.sql("node-b", checksum)
    assert lab.channels_running()


def test_stopped_node_catches_up_by_itself(lab, rows):
    token = secrets.token_hex(8)
    lab.on("node-b", "systemctl stop mariadb")
    try:
        lab.sql("node-a", "".join(f"INSERT INTO {rows} (origin, token) VALUES ('node-a', '{token}');\n"
                                    for _ in range(50)))
        assert count(lab, "node-a", token) == 50
    finally:
        lab.on("node-b", "systemctl start mariadb")
    started = time.monotonic()
    lab.wait_for(lambda: count(lab, "node-b", token) == 50, timeout=30, what="node-b caught up")
    assert time.monotonic() - started < 30
    # node-a's channel reconnects to node-b by itself too (MASTER_CONNECT_RETRY)
    lab.wait_for(lab.channels_running, timeout=45, interval=1, what="both channels running again")
    back = secrets.token_hex(8)
    lab.sql("node-b", f"INSERT INTO {rows} (origin, token) VALUES ('node-b', '{back}')")
    lab.wait_for(lambda: count(lab, "node-a", back) == 1, timeout=10, what="node-b's write on node-a")


def positions(lab) -> dict:
    return {name: {k: lab.replication(name)[k] for k in ("gtid_binlog_pos", "gtid_slave_pos", "master")}
            for name in lab.names}


def test_second_deploy_changes_nothing_and_keeps_positions(lab, rows):
    # converge first: earlier tests restart containers, and the container runtime rewrites /etc/hosts
    assert lab.deploy().returncode == 0
    lab.wait_for(lab.channels_running, timeout=45, interval=1, what="both channels running")
    before = positions(lab)
    run = lab.deploy()
    assert run.returncode == 0, run.output[-3000:]
    assert run.changed() == "-", run.output[-3000:]
    assert positions(lab) == before


def test_changed_replication_password_reaches_the_channels_without_a_reseed(lab, rows):
    lab.wait_for(lab.channels_running, timeout=45, interval=1, what="both channels running")
    new = {"QMHA_DB_REPLICATION_PASSWORD": "Rotated" + secrets.token_hex(12)}
    try:
        run = lab.deploy(env=new)
        assert run.returncode == 0, run.output[-3000:]
        assert "Seed " not in run.output and "Point " not in run.output, "a password change re-seeded"
        lab.log_in_again()  # the new login only works with the new password on both sides
        lab.replicates_both_ways(rows)
        again = lab.deploy(env=new)
        assert again.returncode == 0 and again.changed() == "-", again.output[-3000:]
    finally:
        restored = lab.deploy()
    assert restored.returncode == 0, restored.output[-3000:]
    lab.log_in_again()
    lab.replicates_both_ways(rows)


def test_replication_account_changed_by_hand_is_corrected_and_the_refused_channel_healed(lab, rows):
    lab.wait_for(lab.channels_running, timeout=45, interval=1, what="both channels running")
    b_address = lab.node_info("node-b")["address"]
    lab.sql("node-a", f"SET sql_log_bin = 0; ALTER USER 'qmha_repl'@'{b_address}' IDENTIFIED BY 'typed-by-hand';")
    lab.sql("node-b", "STOP SLAVE; START SLAVE;")
    lab.wait_for(lambda: lab.replication("node-b")["channel"]["last_io_errno"] == 1045, timeout=30,
                 what="node-a refusing node-b's login")
    run = lab.deploy()
    assert run.returncode == 0, run.output[-3000:]
    assert "qm_db_resync" not in run.output
    lab.wait_for(lab.channels_running, timeout=60, interval=1, what="both channels running")
    lab.replicates_both_ways(rows)


def write_dump(path, table: str, token: str) -> None:
    path.write_bytes(gzip.compress(
        f"DROP TABLE IF EXISTS `{table}`;\n"
        f"CREATE TABLE `{table}` (`id` int NOT NULL PRIMARY KEY, `token` varchar(32) NOT NULL) ENGINE=InnoDB;\n"
        f"INSERT INTO `{table}` VALUES (1, '{token}');\n".encode()))


def test_dump_is_refused_over_tables_without_the_flag(lab, rows, tmp_path):
    dump = tmp_path / "refused-backup.sql.gz"
    write_dump(dump, "qmha_test_refused", "x")
    run = lab.deploy("--data", f"qm_db_dump={dump}")
    assert run.returncode != 0
    assert "qm_db_import_into_nonempty" in run.output and "nothing was changed" in run.output
    assert not lab.sql("node-a", f"SHOW TABLES FROM {DB} LIKE 'qmha_test_refused'")


def test_dump_is_imported_once_and_reaches_both_nodes(lab, rows, tmp_path):
    token = secrets.token_hex(8)
    dump = tmp_path / "customer-backup.sql.gz"
    write_dump(dump, "qmha_test_import", token)
    args = ("--data", f"qm_db_dump={dump}", "--data", "qm_db_import_into_nonempty=True")
    run = lab.deploy(*args)
    assert run.returncode == 0, run.output[-3000:]
    for name in lab.names:
        lab.wait_for(lambda n=name: lab.sql(n, f"SELECT token FROM {DB}.qmha_test_import") == [[token]],
                       timeout=10, what=f"the dump's row on {name}")
    again = lab.deploy(*args)
    assert again.returncode == 0 and again.changed() == "-", again.output[-3000:]


def test_broken_channel_is_reported_and_resync_repairs_it(lab, rows):
    lab.wait_for(lab.channels_running, timeout=45, interval=1, what="both channels running")
    key = 900001 + 2 * secrets.randbelow(1000)  # odd: a key node-a could have made
    # a row only node-b has (kept out of its binary log), then node-a writes the same key
    lab.sql("node-b", f"SET sql_log_bin = 0; INSERT INTO {rows} (id, origin, token) VALUES ({key}, 'stray', 'x')")
    lab.sql("node-a", f"INSERT INTO {rows} (id, origin, token) VALUES ({key}, 'node-a', 'y')")
    lab.wait_for(lambda: lab.replication("node-b")["channel"]["last_sql_errno"] == 1062, timeout=10,
                   what="node-b's SQL thread stopped on the duplicate")
    before = positions(lab)
    report = lab.deploy()
    assert report.returncode != 0
    assert "node-b: replication from node-a" in report.output
    assert "Last_SQL_Errno 1062" in report.output and "--data qm_db_resync=node-b" in report.output
    assert positions(lab) == before, "a refused deploy changed replication"
    lab.on("node-b", "rm -rf /var/lib/qm-ha/replaced")
    repaired = lab.deploy("--data", "qm_db_resync=node-b")
    assert repaired.returncode == 0, repaired.output[-3000:]
    assert lab.channels_running()
    assert lab.sql("node-b", f"SELECT origin FROM {rows} WHERE id = {key}") == [["node-a"]]
    # what only node-b had is not lost: it is in the copy kept before the re-seed
    kept = lab.on("node-b", "ls /var/lib/qm-ha/replaced/").split()
    assert len(kept) == 1 and kept[0].startswith("queuemetrics-replaced-"), kept
    assert f"({key},'stray','x')" in lab.on("node-b", f"zcat /var/lib/qm-ha/replaced/{kept[0]}")
    assert lab.on("node-b", "stat -c %a /var/lib/qm-ha/replaced").strip() == "700"
    token = secrets.token_hex(8)
    lab.sql("node-b", f"INSERT INTO {rows} (origin, token) VALUES ('node-b', '{token}')")
    lab.wait_for(lambda: count(lab, "node-a", token) == 1, timeout=10, what="node-b's write on node-a")
    healthy = lab.deploy("--data", "qm_db_resync=node-b")
    assert healthy.returncode == 0 and healthy.changed() == "-", healthy.output[-3000:]


# ---------------------------------------------------------------- semi-sync and a partition


def test_channels_hear_from_their_peer_every_second_and_commits_do_not_wait_by_default(lab, rows):
    for name in lab.names:
        status = lab.replication(name)
        assert status["channel"]["heartbeat_period"] == 1.0 and status["channel"]["connect_retry"] == 1
        assert lab.sql(name, "SELECT @@slave_net_timeout")[0][0] == "3"
        # semi-sync stays off unless asked for (qm_db_semi_sync): it hung MariaDB 10.11 after a partition
        assert status["semi_sync"]["enabled"] is False


def test_a_silent_partition_leaves_both_sides_writing_and_heals_by_itself_with_every_write_on_both(lab, rows):
    token = secrets.token_hex(8)
    with faults.partition(lab.container("node-a"), lab.node_info("node-b")["address"]):
        for _ in range(3):
            for name in lab.names:
                lab.sql(name, f"INSERT INTO {rows} (origin, token) VALUES ('{name}', '{token}')", timeout=60)
        for name in lab.names:
            assert count(lab, name, token) == 3
        lab.wait_for(lambda: lab.replication("node-b")["channel"]["io_running"] != "Yes", timeout=30,
                     what="node-b's channel noticing the silent link")
    for name in lab.names:
        lab.wait_for(lambda n=name: count(lab, n, token) == 6, timeout=120, what=f"every write on {name}")
    lab.wait_for(lab.channels_running, timeout=120, interval=1, what="both channels running again")
    lab.replicates_both_ways(rows)
