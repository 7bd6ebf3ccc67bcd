"""Command level: the SQL, commands and configuration the database and replication phases produce
for Debian 12 / MariaDB 10.11 (GTID mode) and CentOS 7 / MariaDB 5.5 (file/position mode), from
fact outputs recorded on real servers (10.11: the lab; 5.5: in the shape 5.5's client prints)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from operations import knobs, mariadb
from operations.phases import database
from operations.phases.replication import plan as rplan, statements
from operations.render import render
from operations.facts.mariadb import DatabaseAccounts, MariadbServer, ReplicationStatus
from operations.platform import PLATFORMS

DATA = Path(__file__).parent / "data"
A, B = "10.213.78.11", "10.213.78.12"
EL7, DEB12 = PLATFORMS["el7"], PLATFORMS["debian12"]
GTID, FILE = mariadb.Capabilities((10, 11)), mariadb.Capabilities((5, 5))
NOT_INSTALLED = MariadbServer().process(["installed=no"])


def fact(cls, path: str, **_):
    return cls().process((DATA / path).read_text().splitlines())


def deb(name: str):
    return {"server": fact(MariadbServer, f"mariadb-10.11/node-{name}-server.txt"),
            "status": fact(ReplicationStatus, f"mariadb-10.11/node-{name}-replication-status.txt"),
            "accounts": fact(DatabaseAccounts, f"mariadb-10.11/node-{name}-accounts.txt")}


def nodes_from(a: dict, b: dict, tables=(0, 0), markers=(None, None)) -> list[rplan.NodeFacts]:
    return [rplan.NodeFacts("node-a", A, a["server"], a["status"], tables[0], markers[0]),
            rplan.NodeFacts("node-b", B, b["server"], b["status"], tables[1], markers[1])]


def fresh() -> dict:
    return {"server": NOT_INSTALLED, "status": ReplicationStatus.default()}


# ---------------------------------------------------------------- facts


def test_replication_status_fact_reads_a_running_gtid_channel():
    status = deb("b")["status"]
    assert status["server_id"] == 2 and status["gtid_domain_id"] == 2 and status["log_bin"]
    assert status["gtid_slave_pos"] == "1-1-12,2-2-3"
    ch = status["channel"]
    assert (ch["master_host"], ch["io_running"], ch["sql_running"]) == (A, "Yes", "Yes")
    assert ch["ssl"] and ch["ssl_verify_server_cert"] and ch["using_gtid"] == "Slave_Pos"
    assert ch["seconds_behind"] == 0 and ch["connect_retry"] == 1 and ch["heartbeat_period"] == 1.0
    assert status["master"] == {"file": "mysql-bin.000001", "position": 1658}


def test_replication_status_fact_reads_a_55_channel_and_its_error():
    status = fact(ReplicationStatus, "mariadb-5.5/replication-status-broken.txt")
    assert status["gtid_binlog_pos"] is None and status["server_id"] == 2
    ch = status["channel"]
    assert ch["sql_running"] == "No" and ch["last_sql_errno"] == 1062
    assert "Duplicate entry '7'" in ch["last_sql_error"] and ch["using_gtid"] == "No"
    assert ch["seconds_behind"] is None


def test_facts_say_when_no_server_answers():
    assert ReplicationStatus().process(["-- down"])["running"] is False
    assert DatabaseAccounts().process(["-- down"])["running"] is False
    assert MariadbServer().process(["installed=no"]) == MariadbServer.default()
    assert fact(MariadbServer, "mariadb-5.5/server.txt")["major_minor"] == (5, 5)


def test_accounts_fact_reads_privileges_from_columns_not_grant_text():
    accounts = deb("a")["accounts"]
    repl = next(u for u in accounts["users"] if u["user"] == "qmha_repl")
    assert (repl["host"], repl["ssl_type"], repl["repl_slave"], repl["repl_client"]) == (B, "ANY", True, True)
    assert accounts["db_grants"][("queuemetrics", B)] == {"all": True, "grant": False}
    assert accounts["tables"] == 2 and "queuemetrics" in accounts["databases"]


# ---------------------------------------------------------------- configuration


def test_a_silent_link_is_given_up_after_seconds_and_retried_for_as_long_as_the_peer_is_away():
    text = render("mariadb/60-qmha.cnf.j2", **database.server_settings(0, A, GTID))
    assert "slave-net-timeout        = 3\n" in text and "master-retry-count       = 100000000\n" in text
    assert "sync-binlog              = 1\n" in text and "innodb-flush-log-at-trx-commit = 1\n" in text


def test_a_binlog_sender_stuck_on_a_dead_link_gives_up_after_the_same_seconds_as_a_silent_channel():
    text = render("mariadb/60-qmha.cnf.j2", **database.server_settings(0, A, GTID))
    assert "net-write-timeout        = 3\n" in text and "slave-net-timeout        = 3\n" in text
    assert "init-connect" not in text


def test_semi_sync_both_ways_with_the_lossless_wait_point_where_the_server_has_it():
    text = render("mariadb/60-qmha.cnf.j2", **database.server_settings(0, A, GTID, semi_sync_timeout_ms=1500))
    for line in ("rpl-semi-sync-master-enabled       = ON", "rpl-semi-sync-slave-enabled        = ON",
                 "rpl-semi-sync-master-wait-point    = AFTER_SYNC", "rpl-semi-sync-master-timeout       = 1500",
                 "rpl-semi-sync-master-wait-no-slave = OFF"):
        assert line + "\n" in text


@pytest.mark.parametrize("caps, timeout", [(FILE, 1000), (GTID, None)])
def test_no_semi_sync_on_55_or_when_switched_off(caps, timeout):
    text = render("mariadb/60-qmha.cnf.j2", **database.server_settings(0, A, caps, semi_sync_timeout_ms=timeout))
    assert "semi-sync" not in text


@pytest.mark.parametrize("caps, bind, gtid_line", [
    (GTID, f"127.0.0.1,{B}", "gtid-domain-id           = 2"),
    (FILE, "0.0.0.0", None),
])
def test_server_config_per_version(caps, bind, gtid_line):
    text = render("mariadb/60-qmha.cnf.j2", **database.server_settings(1, B, caps))
    assert f"bind-address             = {bind}\n" in text
    assert "server-id                = 2\n" in text and "auto-increment-offset    = 2\n" in text
    assert "auto-increment-increment = 2\n" in text and "log-slave-updates        = 1\n" in text
    assert "relay-log-recovery       = 1\n" in text and "ssl-key                  = /etc/qm-ha/tls/cluster.key" in text
    assert (gtid_line in text) if gtid_line else ("gtid" not in text)


def test_capabilities_fall_back_to_the_packaged_version_before_install():
    assert mariadb.capabilities(NOT_INSTALLED, EL7).mode == "file"
    assert mariadb.capabilities(NOT_INSTALLED, DEB12).mode == "gtid"
    assert mariadb.capabilities({"major_minor": (10, 5)}, EL7).mode == "gtid"


# ---------------------------------------------------------------- accounts and root


def desired(peer=B):
    return mariadb.desired_accounts("queuemetrics", "app-secret", "repl-secret", "seed-secret", peer)


def test_accounts_in_place_give_no_statement():
    assert mariadb.account_statements(deb("a")["accounts"], desired(B), "queuemetrics", "utf8") == []


def test_first_run_grants_everything_by_hash_with_ssl_for_replication():
    statements = mariadb.account_statements({}, desired(B), "queuemetrics", "utf8")
    assert statements[0] == "CREATE DATABASE IF NOT EXISTS `queuemetrics` DEFAULT CHARACTER SET utf8"
    grants = statements[1:]
    assert [g.split(" TO ")[1].split(" ")[0] for g in grants] == [
        "'queuemetrics'@'localhost'", "'queuemetrics'@'127.0.0.1'", f"'queuemetrics'@'{B}'", f"'qmha_repl'@'{B}'",
        f"'qmha_seed'@'{B}'"]
    assert grants[-2].startswith("GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.*") and grants[-2].endswith("REQUIRE SSL")
    assert all("IDENTIFIED BY PASSWORD '*" in g for g in grants)
    assert not any("secret" in s for s in statements)


def test_the_peer_logs_in_over_tls_only_and_the_local_hop_is_left_as_it_is():
    grants = {g.split(" TO ")[1].split(" ")[0]: g for g in
              mariadb.account_statements({}, desired(B), "queuemetrics", "utf8")[1:]}
    assert grants[f"'queuemetrics'@'{B}'"].endswith("REQUIRE SSL")
    assert grants["'queuemetrics'@'localhost'"].endswith("REQUIRE NONE")
    assert grants["'queuemetrics'@'127.0.0.1'"].endswith("REQUIRE NONE")


def test_the_seed_account_may_dump_the_database_with_its_position_from_the_peer_over_tls_only():
    seed = [g for g in mariadb.account_statements({}, desired(B), "queuemetrics", "utf8") if "'qmha_seed'" in g]
    assert len(seed) == 1 and f"'qmha_seed'@'{B}'" in seed[0] and seed[0].endswith("REQUIRE SSL")
    granted = seed[0].split("GRANT ", 1)[1].split(" ON ", 1)[0].split(", ")
    # a consistent dump with --master-data: read, lock, views, triggers, events, and the binary log position
    assert set(granted) == {"SELECT", "RELOAD", "LOCK TABLES", "SHOW VIEW", "TRIGGER", "EVENT", "REPLICATION CLIENT"}
    assert "ON *.*" in seed[0] and "INSERT" not in seed[0] and "SUPER" not in seed[0]


def test_a_seed_account_missing_a_privilege_is_granted_again():
    accounts = copy.deepcopy(deb("a")["accounts"])
    seed_row = next(u for u in accounts["users"] if u["user"] == "qmha_seed")
    seed_row["global"] = [p for p in seed_row["global"] if p != "Reload_priv"]
    statements = mariadb.account_statements(accounts, desired(B), "queuemetrics", "utf8")
    assert len(statements) == 1 and statements[0].startswith("GRANT SELECT, RELOAD")


def test_a_peer_app_account_without_tls_is_granted_again_with_require_ssl():
    accounts = copy.deepcopy(deb("a")["accounts"])
    peer_row = next(u for u in accounts["users"] if (u["user"], u["host"]) == ("queuemetrics", B))
    peer_row["ssl_type"] = ""  # as deployed before the JDBC hop to the peer was encrypted
    statements = mariadb.account_statements(accounts, desired(B), "queuemetrics", "utf8")
    assert len(statements) == 1
    assert statements[0].startswith("GRANT ALL PRIVILEGES") and f"'queuemetrics'@'{B}'" in statements[0]
    assert statements[0].endswith("REQUIRE SSL")


def test_changed_password_and_stale_host_are_corrected():
    accounts = copy.deepcopy(deb("a")["accounts"])
    accounts["users"].append({"user": "qmha_repl", "host": "10.0.0.9", "password": "*X", "ssl_type": "ANY",
                              "repl_slave": True, "repl_client": True})
    statements = mariadb.account_statements(accounts, mariadb.desired_accounts(
        "queuemetrics", "new-app-secret", "repl-secret", "seed-secret", B), "queuemetrics", "utf8")
    assert len([s for s in statements if s.startswith("GRANT ALL")]) == 3
    assert statements[-1] == "DROP USER 'qmha_repl'@'10.0.0.9'"


def test_root_on_debian_is_left_to_the_socket():
    assert mariadb.root_statements({}, DEB12, "*H") == []
    assert mariadb.root_statements(deb("a")["accounts"], DEB12, "*H") == []


def test_root_on_55_is_secured_by_hash():
    root_hash = mariadb.native_password_hash("root-secret")
    statements = mariadb.root_statements(fact(DatabaseAccounts, "mariadb-5.5/fresh-accounts.txt"), EL7, root_hash)
    assert "DROP USER ''@'localhost'" in statements and "DROP USER ''@'node-a'" in statements
    assert "DROP USER 'root'@'node-a'" in statements and "DROP DATABASE test" in statements
    assert f"SET PASSWORD FOR 'root'@'localhost' = '{root_hash}'" in statements
    assert f"SET PASSWORD FOR 'root'@'::1' = '{root_hash}'" in statements
    first_run = mariadb.root_statements({}, EL7, root_hash)
    assert first_run[-2] == f"UPDATE mysql.user SET Password = '{root_hash}' WHERE User = 'root'"


def test_sql_runs_node_local_from_a_root_only_file_never_from_the_command_line():
    commands = list(mariadb.run_sql(["GRANT x IDENTIFIED BY PASSWORD '*SECRET'"], "mysql", "accounts"))
    upload, run = commands
    assert upload.dest == "/var/lib/qm-ha/sql/accounts.sql"
    assert upload.src.getvalue().decode().startswith("SET SESSION sql_log_bin = 0;\n")
    assert "SECRET" not in str(run) and str(run).startswith("mysql < /var/lib/qm-ha/sql/accounts.sql")


def test_native_password_hash_matches_mariadb():
    # SELECT PASSWORD('secret') on MariaDB
    assert mariadb.native_password_hash("secret") == "*14E65567ABDB5135D0CFD9A70B3032C179A49EE7"


# ---------------------------------------------------------------- the replication plan


def test_healthy_pair_plans_nothing():
    plan = rplan.make_plan(nodes_from(deb("a"), deb("b"), tables=(2, 2)), GTID, "queuemetrics")
    assert not plan.changes and not plan.problems
    assert {s.kind for s in plan.states.values()} == {"healthy"}


@pytest.mark.parametrize("caps", [GTID, FILE])
def test_new_pair_seeds_b_from_a_then_points_a_at_b(caps):
    plan = rplan.make_plan(nodes_from(fresh(), fresh()), caps, "queuemetrics")
    assert (plan.source, plan.target, plan.point, plan.problems) == ("node-a", "node-b", "node-a", [])


def test_gtid_seed_and_point_sql():
    before, after = statements.seed_sql(GTID, A, "repl-secret")
    assert before[:3] == ["STOP SLAVE", "RESET SLAVE ALL", "RESET MASTER"]
    change = before[3]
    assert f"MASTER_HOST = '{A}'" in change and "MASTER_USE_GTID = slave_pos" in change
    assert "MASTER_SSL = 1" in change and "MASTER_SSL_CA = '/etc/qm-ha/tls/ca.crt'" in change
    assert "MASTER_SSL_VERIFY_SERVER_CERT = 1" in change and "MASTER_LOG_FILE" not in change
    assert after == ["SET @seed_pos = @@GLOBAL.gtid_slave_pos", "SET GLOBAL gtid_binlog_state = @seed_pos",
                     "CHANGE MASTER TO MASTER_HEARTBEAT_PERIOD = 1", "START SLAVE"]
    point = statements.point_sql(GTID, B, "repl-secret")
    assert point[2:4] == ["SET @own_pos = @@GLOBAL.gtid_binlog_pos", "SET GLOBAL gtid_slave_pos = @own_pos"]
    assert f"MASTER_HOST = '{B}'" in point[4] and point[-1] == "START SLAVE"


def test_file_position_seed_and_point_sql():
    before, after = statements.seed_sql(FILE, "192.168.1.5", "repl-secret")
    change = before[3]
    assert "MASTER_USE_GTID" not in change and "MASTER_SSL = 1" in change
    assert "MASTER_SSL_VERIFY_SERVER_CERT = 0" in change  # 5.5 checks the CN only, not subjectAltNames
    assert after == ["CHANGE MASTER TO MASTER_HEARTBEAT_PERIOD = 1", "START SLAVE"]
    point = statements.point_sql(FILE, "192.168.1.6", "repl-secret")
    assert "MASTER_LOG_FILE = 'mysql-bin.000001', MASTER_LOG_POS = 4" in point[2]
    assert not any("gtid" in s for s in point)


def test_the_seeded_node_pulls_the_dump_with_its_position_straight_from_the_source_over_tls():
    gtid = statements.pull_dump_command(DEB12, GTID, "queuemetrics", "node-a.example.com", "/o.cnf",
                                        "/var/lib/qm-ha/sql/seed.sql.gz")
    dump = gtid.split(" && ")[1]
    assert dump.startswith("mariadb-dump --defaults-extra-file=/o.cnf --host=node-a.example.com --port=3306 --ssl ")
    assert "--ssl-ca=/etc/qm-ha/tls/ca.crt --ssl-verify-server-cert --single-transaction --master-data=1 --gtid " in dump
    assert "--add-drop-database --databases queuemetrics" in dump
    assert gtid.endswith("rm -f /o.cnf; [ $rc -eq 0 ] || rm -f /var/lib/qm-ha/sql/seed.sql /var/lib/qm-ha/sql/seed.sql.gz; "
                         "exit $rc")


def test_a_server_that_checks_no_names_pulls_by_address_with_the_ca_only():
    file_mode = statements.pull_dump_command(EL7, FILE, "queuemetrics", "192.168.1.5", "/o.cnf", "/s.sql.gz")
    assert "mysqldump --defaults-extra-file=/o.cnf --host=192.168.1.5 --port=3306 --ssl --ssl-ca=" in file_mode
    assert "--ssl-verify-server-cert" not in file_mode and "--gtid" not in file_mode
    assert "--single-transaction --master-data=1 --routines" in file_mode


def test_the_seed_password_reaches_the_client_in_an_option_file_quoted():
    text = mariadb.client_options("qmha_seed", 'a"b\\c')
    assert text == '[client]\nuser = qmha_seed\npassword = "a\\"b\\\\c"\n'
    seed = statements.seed_command("mysql", "/d.sql.gz", "/b.sql", "/a.sql")
    assert seed.startswith("gzip -t /d.sql.gz && mysql < /b.sql && { echo 'SET SESSION sql_log_bin = 0;'; gzip -dc")


def broken_b():
    b = deb("b")
    b["status"] = copy.deepcopy(b["status"])
    b["status"]["channel"].update(sql_running="No", last_sql_errno=1062,
                                  last_sql_error="Duplicate entry '7' for key 'PRIMARY'")
    return b


def test_broken_channel_is_reported_with_its_error_and_the_flag_that_reseeds():
    plan = rplan.make_plan(nodes_from(deb("a"), broken_b(), tables=(2, 2)), GTID, "queuemetrics")
    assert not plan.changes
    [(node, _, problem, fix)] = plan.problems
    assert node == "node-b" and "SQL thread No" in problem and "Last_SQL_Errno 1062: Duplicate entry" in problem
    assert "--data qm_db_resync=node-b" in fix


def test_resync_reseeds_only_the_named_broken_node():
    plan = rplan.make_plan(nodes_from(deb("a"), broken_b(), tables=(2, 2)), GTID, "queuemetrics",
                                 resync="node-b")
    assert (plan.source, plan.target, plan.point, plan.problems) == ("node-a", "node-b", "node-a", [])


def test_resync_keeps_a_copy_of_what_it_replaces():
    plan = rplan.make_plan(nodes_from(deb("a"), broken_b(), tables=(2, 2)), GTID, "queuemetrics",
                                 resync="node-b")
    assert plan.keep_copy
    assert "a dump of its copy is kept first in /var/lib/qm-ha/replaced" in rplan.make_plan(
        nodes_from(deb("a"), broken_b(), tables=(2, 2)), GTID, "queuemetrics").problems[0][3]
    new_pair = rplan.make_plan(nodes_from(fresh(), fresh()), GTID, "queuemetrics")
    assert new_pair.target == "node-b" and not new_pair.keep_copy


def test_kept_copy_is_a_complete_dump_or_the_seed_stops():
    command = statements.keep_copy_command(DEB12, "queuemetrics")
    assert "mariadb-dump --single-transaction --routines --triggers --events --databases queuemetrics" in command
    assert "--result-file=" in command and "| gzip" not in command  # a failed dump fails the command
    assert "install -d -m 0700 -o root -g root /var/lib/qm-ha/replaced" in command
    assert "tail -n +4 | xargs -r rm -f" in command  # the newest three are kept


def test_resync_of_a_healthy_node_is_ignored():
    plan = rplan.make_plan(nodes_from(deb("a"), deb("b")), GTID, "queuemetrics", resync="node-b")
    assert not plan.changes and "ignored" in plan.notes[0]
    bad = rplan.make_plan(nodes_from(deb("a"), deb("b")), GTID, "queuemetrics", resync="node-c")
    assert bad.problems and bad.problems[0][1] == "qm_db_resync"


def test_peer_down_is_not_broken_but_a_refused_login_is():
    b = deb("b")
    b["status"] = copy.deepcopy(b["status"])
    b["status"]["channel"].update(io_running="Connecting", last_io_errno=2003, last_io_error="Can't connect")
    assert not rplan.make_plan(nodes_from(deb("a"), b), GTID, "queuemetrics").problems
    b["status"]["channel"].update(last_io_errno=1045, last_io_error="Access denied")
    assert rplan.make_plan(nodes_from(deb("a"), b), GTID, "queuemetrics").problems


CURRENT, OLD = mariadb.password_sha256("new-secret"), mariadb.password_sha256("old-secret")


def with_channel_passwords(nodes: list[rplan.NodeFacts], a: str, b: str) -> list[rplan.NodeFacts]:
    return [rplan.NodeFacts(**{**n.__dict__, "channel_password": pw}) for n, pw in zip(nodes, (a, b))]


def test_channel_password_fact_reads_a_digest_and_nothing_else():
    from operations.facts.mariadb import ChannelPassword

    assert ChannelPassword().process([CURRENT]) == CURRENT
    assert ChannelPassword().process([]) is None
    assert ChannelPassword().process(["sed: can't read master.info"]) is None
    assert "master.info" in ChannelPassword().command() and "sha256sum" in ChannelPassword().command()


def test_channels_with_the_current_password_plan_nothing():
    nodes = with_channel_passwords(nodes_from(deb("a"), deb("b")), CURRENT, CURRENT)
    assert not rplan.make_plan(nodes, GTID, "queuemetrics", password=CURRENT).changes


def test_a_changed_replication_password_is_given_to_the_running_channel_in_place():
    nodes = with_channel_passwords(nodes_from(deb("a"), deb("b")), CURRENT, OLD)
    plan = rplan.make_plan(nodes, GTID, "queuemetrics", password=CURRENT)
    assert plan.retune == ["node-b"] and not plan.target and not plan.point and not plan.problems
    assert "MASTER_PASSWORD" in plan.states["node-b"].detail
    sql = statements.retune_sql(GTID, "new-secret")
    assert sql[0] == "STOP SLAVE" and sql[-1] == "START SLAVE"
    assert "MASTER_PASSWORD = 'new-secret'" in sql[1] and "MASTER_LOG_POS" not in sql[1] and "MASTER_USE_GTID" not in sql[1]


def test_a_channel_deployed_with_the_slow_defaults_gets_heartbeats_in_place():
    b = deb("b")
    b["status"] = copy.deepcopy(b["status"])
    b["status"]["channel"].update(connect_retry=10, heartbeat_period=30.0)  # as 10.11 sets them by default
    nodes = with_channel_passwords(nodes_from(deb("a"), b), CURRENT, CURRENT)
    plan = rplan.make_plan(nodes, GTID, "queuemetrics", password=CURRENT)
    assert plan.retune == ["node-b"] and not plan.target and not plan.point
    assert "MASTER_HEARTBEAT_PERIOD" in plan.states["node-b"].detail
    sql = statements.retune_sql(GTID, "pw")[1]
    assert "MASTER_HEARTBEAT_PERIOD = 1" in sql and "MASTER_CONNECT_RETRY = 1" in sql


def test_every_new_channel_hears_from_its_peer_every_second():
    for caps in (GTID, FILE):
        change = statements.change_master_sql(caps, A, "pw")
        assert "MASTER_HEARTBEAT_PERIOD = 1" in change and "MASTER_CONNECT_RETRY = 1" in change


def test_a_login_refused_after_a_password_change_is_healed_not_reseeded():
    b = deb("b")
    b["status"] = copy.deepcopy(b["status"])
    b["status"]["channel"].update(io_running="Connecting", last_io_errno=1045, last_io_error="Access denied")
    nodes = with_channel_passwords(nodes_from(deb("a"), b), CURRENT, OLD)
    plan = rplan.make_plan(nodes, GTID, "queuemetrics", password=CURRENT)
    assert plan.retune == ["node-b"] and not plan.problems and not plan.target
    # refused with the current password, the peer's account right too: a real problem
    nodes = with_channel_passwords(nodes_from(deb("a"), b), CURRENT, CURRENT)
    assert rplan.make_plan(nodes, GTID, "queuemetrics", password=CURRENT).problems


def test_a_login_refused_by_an_account_this_run_corrects_is_healed_not_reseeded():
    b = deb("b")
    b["status"] = copy.deepcopy(b["status"])
    b["status"]["channel"].update(io_running="Connecting", last_io_errno=1045, last_io_error="Access denied")
    a, b_ = with_channel_passwords(nodes_from(deb("a"), b), CURRENT, CURRENT)
    a = rplan.NodeFacts(**{**a.__dict__, "repl_account_current": False})  # changed by hand on node-a
    plan = rplan.make_plan([a, b_], GTID, "queuemetrics", password=CURRENT)
    assert plan.retune == ["node-b"] and not plan.problems
    assert "corrected this run" in plan.states["node-b"].detail


def test_replication_account_is_current_only_with_the_clusters_hash_for_the_peer():
    accounts = deb("a")["accounts"]
    repl = next(u for u in accounts["users"] if u["user"] == mariadb.REPLICATION_USER)
    assert mariadb.replication_account_current(accounts, repl["host"], repl["password"]) is True
    assert mariadb.replication_account_current(accounts, repl["host"], "*0000") is False
    assert mariadb.replication_account_current(accounts, "10.9.9.9", repl["password"]) is False
    assert mariadb.replication_account_current({"running": False, "users": []}, repl["host"], "*0000") is None


def test_stopped_channel_without_error_is_started():
    b = deb("b")
    b["status"] = copy.deepcopy(b["status"])
    b["status"]["channel"].update(io_running="No", sql_running="No")
    plan = rplan.make_plan(nodes_from(deb("a"), b), GTID, "queuemetrics")
    assert plan.start == ["node-b"] and not plan.problems and not plan.target


def test_stopped_server_is_left_for_the_next_run():
    a = deb("a")
    a["status"] = ReplicationStatus.default()
    plan = rplan.make_plan(nodes_from(a, deb("b")), GTID, "queuemetrics")
    assert not plan.changes and not plan.problems and "next run" in plan.notes[0]


def test_data_on_the_node_to_be_seeded_is_not_replaced_silently():
    plan = rplan.make_plan(nodes_from(fresh(), fresh(), tables=(0, 5)), GTID, "queuemetrics")
    assert plan.problems and plan.problems[0][0] == "node-b" and "5 table(s)" in plan.problems[0][2]
    forced = rplan.make_plan(nodes_from(fresh(), fresh(), tables=(0, 5)), GTID, "queuemetrics", resync="node-b")
    assert not forced.problems and forced.target == "node-b"


def test_dump_is_imported_once_and_never_over_tables_without_the_flag():
    dump = "abc  backup.sql.gz"
    plan = rplan.make_plan(nodes_from(fresh(), fresh()), GTID, "queuemetrics", dump=dump)
    assert plan.import_on == "node-a" and plan.target == "node-b"
    refused = rplan.make_plan(nodes_from(deb("a"), deb("b"), tables=(2, 2)), GTID, "queuemetrics", dump=dump)
    assert refused.problems and "qm_db_import_into_nonempty" in refused.problems[0][3] and not refused.import_on
    allowed = rplan.make_plan(nodes_from(deb("a"), deb("b"), tables=(2, 2)), GTID, "queuemetrics", dump=dump,
                                    import_into_nonempty=True)
    assert allowed.import_on == "node-a" and not allowed.target
    done = rplan.make_plan(nodes_from(deb("a"), deb("b"), tables=(2, 2), markers=(dump, None)), GTID,
                                 "queuemetrics", dump=dump)
    assert not done.changes and not done.problems


def test_55_broken_channel_report():
    b = {"server": fact(MariadbServer, "mariadb-5.5/server.txt"),
         "status": fact(ReplicationStatus, "mariadb-5.5/replication-status-broken.txt")}
    a = {"server": b["server"], "status": copy.deepcopy(b["status"])}
    a["status"]["channel"].update(master_host="192.168.1.6", sql_running="Yes", last_sql_errno=0, last_sql_error="")
    nodes = [rplan.NodeFacts("node-a", "192.168.1.5", a["server"], a["status"], 3),
             rplan.NodeFacts("node-b", "192.168.1.6", b["server"], b["status"], 3)]
    plan = rplan.make_plan(nodes, FILE, "queuemetrics")
    assert plan.states["node-a"].kind == "healthy"
    [(node, requirement, problem, fix)] = plan.problems
    assert (node, requirement) == ("node-b", "replication from node-a") and "1062" in problem


def test_flag_reads_text_values():
    assert knobs.Flag().parse("True") and not knobs.Flag().parse("False") and not knobs.Flag().parse("no")


def test_a_channel_names_its_peer_by_fqdn_where_the_server_checks_names():
    assert rplan.master_host("192.168.1.6", "node-b.mycompany.com", GTID) == "node-b.mycompany.com"
    assert rplan.master_host("192.168.1.6", "node-b.mycompany.com", FILE) == "192.168.1.6"  # 5.5 checks no name


def test_a_channel_naming_its_peer_by_address_is_renamed_in_place():
    a, b = nodes_from(deb("a"), deb("b"))
    b = rplan.NodeFacts(**{**b.__dict__, "fqdn": "node-b.mycompany.com"})
    a = rplan.NodeFacts(**{**a.__dict__, "fqdn": "node-a.mycompany.com"})
    plan = rplan.make_plan([a, b], GTID, "queuemetrics")
    assert plan.states["node-a"].kind == "drift" and "MASTER_HOST" in plan.states["node-a"].detail
    assert plan.retune == ["node-a", "node-b"] and not plan.target and not plan.problems
    sql = statements.retune_sql(GTID, "pw", "node-b.mycompany.com")
    assert "MASTER_HOST = 'node-b.mycompany.com'" in sql[1] and "MASTER_LOG" not in sql[1]
    assert "MASTER_HOST" not in statements.retune_sql(FILE, "pw", "node-b.mycompany.com")[1]
