"""The nightly backup in the lab: a timer on each node, a root-only dump with its position, the newest
kept, a restore that brings deleted rows back on both nodes, and a failure recorded, logged and named
by the status command. Each test restores what it breaks."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
DIR = "/var/backups/qm-ha"
TABLE = "queuemetrics.qmha_test_backup"


def newest(lab, name: str) -> str:
    return lab.on(name, f"ls -1t {DIR}/queuemetrics-*.sql.gz | head -n 1").strip()


def back_up(lab, name: str) -> str:
    lab.on(name, "systemctl start qmha-backup.service", timeout=300)
    return newest(lab, name)


@pytest.fixture(scope="module")
def table(lab):
    lab.sql("node-a", f"CREATE TABLE IF NOT EXISTS {TABLE} (id INT AUTO_INCREMENT PRIMARY KEY, token VARCHAR(32))")
    lab.wait_for(lambda: lab.sql("node-b", "SHOW TABLES FROM queuemetrics LIKE 'qmha_test_backup'"),
                 what="the table on node-b")
    return TABLE


def test_each_node_backs_up_nightly(lab):
    for name in lab.names:
        assert lab.on(name, "systemctl is-enabled qmha-backup.timer").strip() == "enabled"
        assert "03:15:00" in lab.on(name, "systemctl show -p TimersCalendar qmha-backup.timer")


def test_a_run_writes_a_root_only_dump_with_its_position_and_records_it(lab, table):
    file = back_up(lab, "node-b")
    assert lab.on("node-b", f"stat -c '%a %U' {DIR} {file}").split("\n")[:2] == ["700 root", "600 root"]
    head = lab.on("node-b", f"gzip -dc {file} | head -n 40")
    assert "-- CHANGE MASTER TO" in head or "gtid_slave_pos" in head  # the position, as a comment
    assert "CREATE DATABASE" in lab.on("node-b", f"gzip -dc {file} | grep -m1 'CREATE DATABASE'")
    record = lab.on("node-b", "cat /var/lib/qm-ha/backup-last")
    assert f" ok {file} " in record


def test_only_the_newest_backups_are_kept(lab):
    back_up(lab, "node-a")  # the first run makes the directory
    stale = [f"{DIR}/queuemetrics-2020010{day}T031500Z.sql.gz" for day in range(1, 10)]
    lab.on("node-a", " && ".join(f"echo old | gzip > {f} && touch -d 2020-01-0{i + 1} {f}" for i, f in enumerate(stale)))
    back_up(lab, "node-a")
    kept = lab.on("node-a", f"ls -1 {DIR}/queuemetrics-*.sql.gz").split()
    assert len(kept) == 7 and stale[-1] in kept and stale[0] not in kept
    lab.on("node-a", f"rm -f {' '.join(stale)}")


def test_a_restore_on_one_node_brings_deleted_rows_back_on_both(lab, table):
    token = secrets.token_hex(8)
    lab.sql("node-a", "".join(f"INSERT INTO {table} (token) VALUES ('{token}');\n" for _ in range(5)))
    lab.wait_for(lambda: lab.sql("node-b", f"SELECT COUNT(*) FROM {table} WHERE token = '{token}'") == [["5"]],
                 what="the rows on node-b")
    file = back_up(lab, "node-a")
    lab.sql("node-b", f"DELETE FROM {table} WHERE token = '{token}'")  # the bad DELETE, replicated at once
    lab.wait_for(lambda: lab.sql("node-a", f"SELECT COUNT(*) FROM {table} WHERE token = '{token}'") == [["0"]],
                 what="the DELETE on node-a")
    lab.on("node-a", f"gzip -dc {file} | mariadb", timeout=300)  # the README's restore, on one node
    for name in lab.names:
        lab.wait_for(lambda n=name: lab.sql(n, f"SELECT COUNT(*) FROM {table} WHERE token = '{token}'") == [["5"]],
                     timeout=60, what=f"the rows back on {name}")
    assert lab.channels_running()


def test_a_failed_backup_is_recorded_logged_and_named_by_status(lab):
    lab.on("node-b", f"mv {DIR} {DIR}.aside && touch {DIR}")  # the directory is not one: the run must fail
    try:
        run = lab.on("node-b", "systemctl start qmha-backup.service; echo rc=$?")
        assert "rc=0" not in run
        assert " failed " in lab.on("node-b", "cat /var/lib/qm-ha/backup-last")
        assert "backup of queuemetrics failed" in lab.on("node-b", "journalctl -t qmha-backup --no-pager -n 5")
        report = subprocess.run([sys.executable, "-m", "drill.status", lab.inventory, "--json"], cwd=REPO,
                                env=lab.env, capture_output=True, text=True, timeout=300)
        assert report.returncode == 1
        assert any(p.startswith("node-b: the last backup failed") for p in json.loads(report.stdout)["problems"])
    finally:
        lab.on("node-b", f"rm -f {DIR} && mv {DIR}.aside {DIR}")
    back_up(lab, "node-b")
    assert " ok " in lab.on("node-b", "cat /var/lib/qm-ha/backup-last")
