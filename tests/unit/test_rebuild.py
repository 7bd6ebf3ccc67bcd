"""Rebuilding a node from its peer: when the plan rebuilds or refuses, the command lines it runs, and
the GTID read from the copy's binary log info."""

from __future__ import annotations

import pytest

from operations import mariadb, paths, rebuild
from operations.phases.replication import plan as rplan
from operations.phases.replication.statements import change_master_sql
from operations.platform import PLATFORMS
from tests.unit.test_database import GTID, NOT_INSTALLED, A, B, deb
from operations.facts.mariadb import ReplicationStatus

COPY = PLATFORMS["debian12"].db_physical_copy


def reinstalled_b(resync=None, physical=True, tables_a=12, data_a=None, free_b=None) -> rplan.Plan:
    """Node A with its data and its channel from B; node B reinstalled (nothing installed)."""
    a = deb("a")
    nodes = [rplan.NodeFacts("node-a", A, a["server"], a["status"], tables_a, data_mib=data_a),
             rplan.NodeFacts("node-b", B, NOT_INSTALLED, ReplicationStatus.default(), 0, free_mib=free_b)]
    return rplan.make_plan(nodes, GTID, "queuemetrics", resync=resync, physical=physical)


# ---------------------------------------------------------------- when

def test_a_reinstalled_node_beside_its_peers_data_is_refused_naming_the_flag():
    plan = reinstalled_b()
    assert plan.target is None and not plan.changes
    [(node, _, problem, fix)] = plan.problems
    assert node == "node-b" and "no queuemetrics" in problem and "node-a has 12 table(s)" in problem
    assert "--data qm_db_resync=node-b" in fix


def test_the_flag_rebuilds_the_reinstalled_node_from_its_peer_with_a_physical_copy():
    plan = reinstalled_b(resync="node-b")
    assert not plan.problems
    assert (plan.source, plan.target, plan.point, plan.method) == ("node-a", "node-b", "node-a", "physical")
    assert not plan.keep_copy


def test_without_a_physical_copy_the_reinstalled_node_is_seeded_with_a_dump():
    plan = reinstalled_b(resync="node-b", physical=False)
    assert (plan.target, plan.method) == ("node-b", "dump") and not plan.problems


def test_a_target_without_room_for_the_sources_data_is_refused():
    plan = reinstalled_b(resync="node-b", data_a=900, free_b=600)
    [(node, requirement, problem, _)] = plan.problems
    assert node == "node-b" and requirement == "room for the copy"
    assert "600 MiB free" in problem and "900 MiB" in problem


def test_a_target_with_room_is_rebuilt():
    assert not reinstalled_b(resync="node-b", data_a=900, free_b=901).problems


def test_the_flag_on_a_healthy_node_only_warns_and_changes_nothing():
    a, b = deb("a"), deb("b")
    nodes = [rplan.NodeFacts("node-a", A, a["server"], a["status"], 12),
             rplan.NodeFacts("node-b", B, b["server"], b["status"], 12)]
    plan = rplan.make_plan(nodes, GTID, "queuemetrics", resync="node-b", physical=True)
    assert not plan.changes and not plan.problems and plan.method == "dump"
    assert any("qm_db_resync=node-b ignored" in note for note in plan.notes)


def test_the_flag_naming_an_unknown_node_is_refused():
    plan = reinstalled_b(resync="node-c")
    assert plan.problems[0][1] == "qm_db_resync" and "'node-c' is not a host" in plan.problems[0][2]


def test_an_empty_peer_is_pointed_not_rebuilt():
    """Nothing to copy (the peer has no table): the node is pointed at its peer as before."""
    plan = reinstalled_b(tables_a=0)
    assert not plan.problems and plan.target is None


def test_debian_rebuilds_with_mariadb_backup_and_el7_with_the_dump():
    assert (COPY.packages, COPY.backup, COPY.extract) == (("mariadb-backup",), "mariadb-backup", "mbstream")
    assert PLATFORMS["el7"].db_physical_copy is None


# ---------------------------------------------------------------- the copy's GTID

def test_gtid_is_read_from_the_copys_binlog_info():
    assert rebuild.binlog_gtid("mysql-bin.000003\t1234\t1-1-40,2-2-17\n") == "1-1-40,2-2-17"


def test_gtid_in_quotes_as_older_tools_wrote_it():
    assert rebuild.binlog_gtid("mysql-bin.000001\t328\t'1-1-5'") == "1-1-5"


@pytest.mark.parametrize("text", ["", "mysql-bin.000001\t328", "mysql-bin.000001\t328\tx; DROP TABLE t"])
def test_a_binlog_info_without_a_gtid_is_an_error(text):
    with pytest.raises(rebuild.CopyError):
        rebuild.binlog_gtid(text)


# ---------------------------------------------------------------- command lines

def test_the_source_streams_its_copy_straight_to_the_targets_rebuild_receive():
    command = rebuild.send_command(COPY, "10.0.0.12", 2222)
    assert "bash -o pipefail -c" in command
    assert "mariadb-backup --backup --stream=xbstream" in command
    assert "qmsync@10.0.0.12 rebuild-receive" in command and "-p 2222" in command
    assert f"UserKnownHostsFile={paths.SYNC_KNOWN_HOSTS}" in command and "StrictHostKeyChecking=yes" in command
    assert f"-i {paths.SYNC_KEY}" in command


def test_the_target_prepares_swaps_keeping_the_mount_point_and_lost_found():
    prepare, swap = rebuild.swap_commands(COPY, "/var/lib/mysql", "mariadb")
    assert f"mariadb-backup --prepare --target-dir={paths.REBUILD_DIR}" in prepare
    order = [swap.index(part) for part in ("systemctl stop mariadb", "! -name lost+found -exec rm -rf",
                                           f"-exec mv -t /var/lib/mysql", "chown -R mysql:mysql /var/lib/mysql",
                                           "systemctl start mariadb")]
    assert order == sorted(order)
    assert "-mindepth 1" in swap  # the data directory itself (a mount point) stays


def test_every_step_is_logged_to_the_journal_with_its_time():
    line = rebuild.logged("copy prepared", "true")
    assert "logger -t qmha-rebuild" in line and "in ${ms} ms" in line and line.endswith("exit $rc")


def test_the_folder_is_made_empty_and_root_only_and_removed_after():
    assert f"install -d -m 0700 -o root -g root {paths.REBUILD_DIR}" in rebuild.folder_command()
    assert f"rm -rf {paths.REBUILD_DIR}" in rebuild.done_command()


def test_the_rebuilt_node_puts_its_accounts_back_then_sets_the_copys_gtid_in_one_session():
    change = change_master_sql(GTID, "node-a.lab.test", "secret")
    statements = rebuild.rejoin_sql(GTID, change, "1-1-40,2-2-17", ["GRANT x", "DROP USER y"])
    assert statements[:2] == ["GRANT x", "DROP USER y"]
    assert statements[2:] == ["STOP SLAVE", "RESET SLAVE ALL", "RESET MASTER",
                              "SET GLOBAL gtid_slave_pos = '1-1-40,2-2-17'",
                              "SET GLOBAL gtid_binlog_state = '1-1-40,2-2-17'", change, "START SLAVE"]
    assert mariadb.sql_text(statements).startswith("SET SESSION sql_log_bin = 0;")


def test_the_rejoin_refuses_a_server_without_gtid_and_a_bad_position():
    with pytest.raises(rebuild.CopyError):
        rebuild.rejoin_sql(mariadb.Capabilities((5, 5)), "CHANGE MASTER TO x", "1-1-1", [])
    with pytest.raises(rebuild.CopyError):
        rebuild.rejoin_sql(GTID, "CHANGE MASTER TO x", "1-1-1'; DROP USER root; --", [])


def test_the_rebuilt_nodes_accounts_are_its_own_not_its_peers():
    """The copy holds node A's accounts (for B's address); B gets its own (for A's address)."""
    source = deb("a")["accounts"]
    want = mariadb.desired_accounts("queuemetrics", "app", "repl", "seed", A)
    statements = mariadb.account_statements(source, want, "queuemetrics", "utf8")
    assert any(s.startswith("GRANT REPLICATION SLAVE") and f"'{A}'" in s for s in statements)
    assert any(s.startswith("DROP USER") and f"'{B}'" in s for s in statements)


def test_peer_channel_is_recognised_by_address_or_fqdn():
    status = {"channel": {"master_host": "node-b.lab.test"}}
    assert rebuild.peer_channel_from(status, B, "node-b.lab.test")
    assert not rebuild.peer_channel_from(status, B, None)
    assert not rebuild.peer_channel_from({"channel": None}, B, "node-b.lab.test")
