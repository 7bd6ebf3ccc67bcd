"""The status command names what is wrong, one line each with its fix; a healthy cluster has nothing."""

from datetime import datetime, timezone

from drill import status


def healthy(**changes) -> dict:
    node = {
        "reachable": True,
        "services": {"nginx": "active", "tomcat10": "active", "mariadb": "active"},
        "sysup": "QMUP",
        "replication": {"running": True, "gtid_binlog_pos": "1-1-9,2-2-4",
                        "semi_sync": {"enabled": True, "master": True, "clients": 1, "slave": True},
                        "channel": {"io_running": "Yes", "sql_running": "Yes", "ssl": True, "seconds_behind": 0,
                                    "last_io_error": "", "last_sql_error": "", "master_host": "node-b.lab.test"}},
        "properties_sha256": "ab" * 32,
        "certificate_days": {"nginx": 700, "tomcat": 700, "mariadb": 700},
        "free_mb": 20000,
        "min_free_mb": 100,
        "binlog_days": 7.0,
        "backup": {"at": "2026-11-29T03:15:02Z", "ok": True, "hours_ago": 3.0,
                   "detail": "/var/backups/qm-ha/queuemetrics-20261129T031502Z.sql.gz 48213"},
    }
    node.update(changes)
    return node


def test_a_healthy_cluster_has_no_problem():
    assert status.problems({"node-a": healthy(), "node-b": healthy()}) == []


def test_a_stopped_service_is_named_with_its_fix():
    b = healthy(services={"nginx": "active", "tomcat10": "inactive", "mariadb": "active"}, sysup="no answer")
    found = status.problems({"node-a": healthy(), "node-b": b})
    assert "node-b: tomcat10 is inactive. Fix: systemctl start tomcat10" in found[0]
    assert found[1].startswith("node-b: sysup.jsp through its own nginx answers 'no answer'")


def test_a_broken_channel_names_its_error_and_the_repair():
    b = healthy()
    b["replication"]["channel"].update(sql_running="No", last_sql_error="Duplicate entry '7' for key 'PRIMARY'")
    [found] = status.problems({"node-a": healthy(), "node-b": b})
    assert "node-b: replication from its peer: IO Yes, SQL No (Duplicate entry" in found and "qm_db_resync" in found


def test_a_node_whose_commits_no_longer_wait_for_its_peer_is_named_degraded():
    b = healthy()
    b["replication"]["semi_sync"].update(master=False, clients=0)
    [found] = status.problems({"node-a": healthy(), "node-b": b})
    assert found.startswith("node-b: runs degraded (asynchronous)") and "Fix:" in found
    assert "DEGRADED" in status.table({"node-a": healthy(), "node-b": b})


def test_a_server_without_semi_sync_is_not_a_problem_but_is_shown():
    a = healthy()
    a["replication"]["semi_sync"] = {"enabled": None, "master": None, "clients": None, "slave": None}
    assert status.problems({"node-a": a, "node-b": healthy()}) == []
    assert "has no semi-synchronous replication" in status.table({"node-a": a, "node-b": healthy()})


def test_an_unreachable_node_an_expiring_certificate_and_differing_settings_are_named():
    a = healthy(certificate_days={"nginx": 12, "tomcat": 700, "mariadb": 700}, properties_sha256="cd" * 32,
                free_mb=150)
    found = status.problems({"node-a": a, "node-b": {"reachable": False}})
    assert any("node-a: nginx's certificate expires in 12 day(s)" in f for f in found)
    assert any("node-a: 150 MiB free where MariaDB keeps its data: its watchdog stops MariaDB below 100 MiB" in f
               for f in found)
    assert not status.problems({"node-a": healthy(free_mb=250), "node-b": healthy()})  # above twice the reserve
    assert any(f.startswith("node-b: not reachable over SSH") for f in found)
    both = status.problems({"node-a": a, "node-b": healthy()})
    assert any(f.startswith("configuration.properties differs between the nodes") for f in both)


def test_days_left_reads_openssls_date():
    now = datetime(2026, 11, 29, tzinfo=timezone.utc)
    assert status.days_left("Dec  9 12:00:00 2026 GMT", now) == 10
    assert status.days_left("garbage", now) is None


def test_the_backup_record_is_read_with_its_age():
    now = datetime(2026, 11, 29, 9, 15, 2, tzinfo=timezone.utc)
    ok = status.backup_state("2026-11-29T03:15:02Z ok /var/backups/qm-ha/q.sql.gz 48213\n", now)
    assert ok == {"at": "2026-11-29T03:15:02Z", "ok": True, "hours_ago": 6.0, "detail": "/var/backups/qm-ha/q.sql.gz 48213"}
    failed = status.backup_state("2026-11-29T03:15:02Z failed /srv/b is not a writable directory", now)
    assert not failed["ok"] and failed["detail"] == "/srv/b is not a writable directory"
    assert status.backup_state("", now) is None and status.backup_state("garbage", now) is None


def test_a_failed_or_missed_backup_is_named_with_its_fix():
    failed = healthy(backup={"at": "2026-11-29T03:15:02Z", "ok": False, "hours_ago": 2.0,
                             "detail": "gzip could not write (is /var/backups/qm-ha full?)"})
    [found] = status.problems({"node-a": failed, "node-b": healthy()})
    assert found.startswith("node-a: the last backup failed") and "qmha-backup.service" in found
    old = healthy(backup={"at": "2026-11-26T03:15:02Z", "ok": True, "hours_ago": 72.0, "detail": "f 1"})
    [found] = status.problems({"node-a": healthy(), "node-b": old})
    assert found.startswith("node-b: the last backup is 72 h old")
    assert "none yet" in status.table({"node-a": healthy(backup=None), "node-b": healthy()})


def test_a_floating_address_held_by_no_node_or_by_both_is_named():
    base = {"reachable": True, "floating_addresses": ["10.0.0.21", "10.0.0.22"]}
    healthy = {"node-a": {**base, "floating_held": ["10.0.0.21"]}, "node-b": {**base, "floating_held": ["10.0.0.22"]}}
    assert status.floating_problems(healthy) == []
    moved = {"node-a": {**base, "floating_held": []}, "node-b": {**base, "floating_held": ["10.0.0.21", "10.0.0.22"]}}
    assert status.floating_problems(moved) == []  # node A's address on B while A is unwell: as designed
    lost = {"node-a": {**base, "floating_held": []}, "node-b": {**base, "floating_held": ["10.0.0.22"]}}
    assert [p.split(" is ")[0] for p in status.floating_problems(lost)] == ["floating address 10.0.0.21"]
    both = {"node-a": {**base, "floating_held": ["10.0.0.21"]}, "node-b": {**base, "floating_held": ["10.0.0.21", "10.0.0.22"]}}
    assert "held by both nodes (node-a, node-b)" in status.floating_problems(both)[0]


def test_a_roll_out_left_half_done_is_named_with_the_rerun():
    b = healthy(war={"staged": "sha256:" + "b" * 64, "running": "sha256:" + "a" * 64, "pending": True})
    [found] = status.problems({"node-a": healthy(), "node-b": b})
    assert found.startswith("node-b: a new WAR is staged but not running") and "run the deploy again" in found
