"""Database tier on each node: MariaDB running where it should, replication over TLS from the peer,
accounts limited to the hosts that need them. Facts are the deploy's own (operations/facts.py)."""

from operations.mariadb import REPLICATION_USER, SEED_USER, capabilities
from operations.phases.replication.plan import master_host
from operations.facts.mariadb import DatabaseAccounts, MariadbServer, ReplicationStatus
from operations.paths import TLS as NODE_PATHS
from operations.phases.tls import GROUP


def fact(node, cls, **kwargs):
    return cls().process(node.check_output(cls().command(**kwargs)).splitlines())


def test_mariadb_is_running_and_enabled(node, platform):
    service = node.service(platform.db_service)
    assert service.is_running
    assert service.is_enabled


def test_mariadb_listens_on_localhost_and_the_node_address_only(node, spec):
    version = fact(node, MariadbServer)["major_minor"]
    listening = {s.split("://", 1)[1].rsplit(":", 1)[0] for s in node.socket.get_listening_sockets()
                 if s.startswith("tcp") and s.endswith(":3306")}
    if version >= (10, 11):
        assert listening == {"127.0.0.1", spec.me.address}
    else:  # one address or all on older servers: all, with accounts for local and peer hosts only
        assert listening == {"0.0.0.0"}


def test_mysql_may_read_the_tls_key(node):
    assert GROUP in node.user("mysql").groups
    assert node.run(f"su -s /bin/sh mysql -c 'test -r {NODE_PATHS['key']}'").rc == 0


def test_channel_from_the_peer_runs_over_tls(node, spec, platform):
    status = fact(node, ReplicationStatus)
    channel = status["channel"]
    assert channel, "no replication channel"
    caps = capabilities(fact(node, MariadbServer), platform)
    # by the peer's node FQDN where the server verifies the certificate's names (its address on 5.5)
    assert channel["master_host"] == master_host(spec.peer.address, spec.peer.fqdn, caps)
    assert channel["master_user"] == REPLICATION_USER
    assert channel["ssl_verify_server_cert"] == caps.verify_peer_name
    assert (channel["io_running"], channel["sql_running"]) == ("Yes", "Yes"), (channel["last_io_error"],
                                                                             channel["last_sql_error"])
    assert channel["ssl"] and channel["ssl_ca"] == NODE_PATHS["ca"]
    assert status["server_id"] == spec.nodes.index(spec.me) + 1 and status["log_bin"]


def test_replication_account_is_for_the_peer_only_and_requires_ssl(node, spec, platform, knobs):
    accounts = fact(node, DatabaseAccounts, database=knobs.qm_db_name)
    repl = [u for u in accounts["users"] if u["user"] == REPLICATION_USER]
    assert [u["host"] for u in repl] == [spec.peer.address]
    assert repl[0]["ssl_type"] == "ANY" and repl[0]["repl_slave"] and repl[0]["repl_client"]
    grants = node.check_output(f"{platform.db_client} -NBe \"SHOW GRANTS FOR '{REPLICATION_USER}'@'{spec.peer.address}'\"")
    assert "REQUIRE SSL" in grants and "ALL PRIVILEGES" not in grants


def test_app_account_is_for_local_and_peer_hosts(node, spec, knobs):
    accounts = fact(node, DatabaseAccounts, database=knobs.qm_db_name)
    hosts = sorted(u["host"] for u in accounts["users"] if u["user"] == knobs.qm_db_app_user)
    assert hosts == sorted(["localhost", "127.0.0.1", spec.peer.address])
    assert all(accounts["db_grants"][(knobs.qm_db_app_user, h)]["all"] for h in hosts)


def test_the_peer_reaches_the_app_account_over_tls_only(node, spec, knobs):
    accounts = fact(node, DatabaseAccounts, database=knobs.qm_db_name)
    tls = {u["host"]: u["ssl_type"] for u in accounts["users"] if u["user"] == knobs.qm_db_app_user}
    assert tls == {"localhost": "", "127.0.0.1": "", spec.peer.address: "ANY"}


def test_the_seed_account_is_for_the_peer_only_over_tls_and_reads_only(node, spec, knobs):
    accounts = fact(node, DatabaseAccounts, database=knobs.qm_db_name)
    seed = [u for u in accounts["users"] if u["user"] == SEED_USER]
    assert [(u["host"], u["ssl_type"]) for u in seed] == [(spec.peer.address, "ANY")]
    assert "Select_priv" in seed[0]["global"] and not seed[0]["repl_slave"]
    assert (SEED_USER, spec.peer.address) not in accounts["db_grants"]  # no write on the database


def test_no_anonymous_account_and_no_test_database(node, knobs):
    accounts = fact(node, DatabaseAccounts, database=knobs.qm_db_name)
    assert not [u for u in accounts["users"] if u["user"] == ""]
    assert "test" not in accounts["databases"]


def test_a_hung_database_is_watched_and_a_crashed_one_restarts(node, platform, knobs):
    from operations.phases.database import WATCHDOG

    watchdog = node.service(WATCHDOG)
    assert (watchdog.is_running, watchdog.is_enabled) == ((knobs.qm_db_watchdog_s > 0,) * 2)
    restart = node.check_output(f"systemctl show {platform.db_service} -p Restart --value")
    assert restart == "on-abnormal"
