"""The replication phase's SQL and shell text: channels, seeding, dumps, the bounded wait.

Passwords appear only in SQL that is uploaded to a root-only directory and fed on stdin
(``mariadb.run_sql``), never in a command line.

Example:

.. code:: python

    from operations.phases.replication import statements
    statements.change_master_sql(caps, "192.168.1.6", password)
"""

from __future__ import annotations

from ... import paths
from ...mariadb import CONNECT_RETRY_S, HEARTBEAT_S, PORT, REPLICATION_USER, Capabilities, dump_to, sql_string
from ...platform import Platform
from .plan import FIRST_BINLOG, KEEP_COPIES

#: how long (s) a changed channel may take to run both threads
WAIT_S = 60


def change_master_sql(caps: Capabilities, master_address: str, password: str, position: str = "") -> str:
    """``CHANGE MASTER TO`` the peer over TLS; POSITION is extra ``MASTER_LOG_FILE/POS`` text."""
    options = [
        f"MASTER_HOST = {sql_string(master_address)}",
        f"MASTER_PORT = {PORT}",
        f"MASTER_USER = {sql_string(REPLICATION_USER)}",
        f"MASTER_PASSWORD = {sql_string(password)}",
        f"MASTER_CONNECT_RETRY = {CONNECT_RETRY_S}",
        f"MASTER_HEARTBEAT_PERIOD = {HEARTBEAT_S}",
        "MASTER_SSL = 1",
        f"MASTER_SSL_CA = {sql_string(paths.TLS['ca'])}",
        f"MASTER_SSL_VERIFY_SERVER_CERT = {1 if caps.verify_peer_name else 0}",
    ]
    if caps.gtid:
        options.append("MASTER_USE_GTID = slave_pos")
    if position:
        options.append(position)
    return "CHANGE MASTER TO " + ", ".join(options)


def seed_sql(caps: Capabilities, master_address: str, password: str) -> tuple[list[str], list[str]]:
    """Statements the seeded node runs before and after loading the dump (which sets the position)."""
    before = ["STOP SLAVE", "RESET SLAVE ALL", "RESET MASTER", change_master_sql(caps, master_address, password)]
    after = []
    if caps.gtid:
        # the loaded GTID position becomes this node's binary log state too (a user variable: a
        # system variable read inside SET GLOBAL gtid_binlog_state deadlocks the server)
        after += ["SET @seed_pos = @@GLOBAL.gtid_slave_pos", "SET GLOBAL gtid_binlog_state = @seed_pos"]
    # the dump's own CHANGE MASTER (its position) set the heartbeat back to the server's default
    after += [f"CHANGE MASTER TO MASTER_HEARTBEAT_PERIOD = {HEARTBEAT_S}", "START SLAVE"]
    return before, after


def point_sql(caps: Capabilities, master_address: str, password: str) -> list[str]:
    """Statements that point a node at its freshly seeded peer, from scratch."""
    statements = ["STOP SLAVE", "RESET SLAVE ALL"]
    if caps.gtid:
        statements += ["SET @own_pos = @@GLOBAL.gtid_binlog_pos", "SET GLOBAL gtid_slave_pos = @own_pos",
                       change_master_sql(caps, master_address, password)]
    else:
        statements.append(change_master_sql(caps, master_address, password,
                                            f"MASTER_LOG_FILE = {sql_string(FIRST_BINLOG)}, MASTER_LOG_POS = 4"))
    return statements + ["START SLAVE"]


def retune_sql(caps: Capabilities, password: str, host: str | None = None) -> list[str]:
    """Statements that correct a healthy channel's settings, keeping its position; HOST: the peer's
    new name (GTID mode only: a new MASTER_HOST drops a file/position channel's position)."""
    options = [f"MASTER_HOST = {sql_string(host)}"] if host and caps.gtid else []
    options += [
        f"MASTER_USER = {sql_string(REPLICATION_USER)}", f"MASTER_PASSWORD = {sql_string(password)}",
        f"MASTER_CONNECT_RETRY = {CONNECT_RETRY_S}", f"MASTER_HEARTBEAT_PERIOD = {HEARTBEAT_S}", "MASTER_SSL = 1",
        f"MASTER_SSL_CA = {sql_string(paths.TLS['ca'])}",
        f"MASTER_SSL_VERIFY_SERVER_CERT = {1 if caps.verify_peer_name else 0}",
    ]
    return ["STOP SLAVE", "CHANGE MASTER TO " + ", ".join(options), "START SLAVE"]


def pull_dump_command(platform: Platform, caps: Capabilities, database: str, source: str, options_file: str,
                      path: str) -> str:
    """On the node being seeded: the SOURCE's consistent dump of DATABASE, carrying its position,
    taken straight from the source's server over TLS with the seed account (OPTIONS_FILE, removed
    whatever happens) and gzipped at PATH. The server's certificate is checked against the cluster
    CA, and its name too where the client checks names (SOURCE is then the peer's node FQDN)."""
    position = " --master-data=1" + (" --gtid" if caps.gtid else "")
    connect = (f" --defaults-extra-file={options_file} --host={source} --port={PORT} --ssl "
               f"--ssl-ca={paths.TLS['ca']}" + (" --ssl-verify-server-cert" if caps.verify_peer_name else ""))
    plain = path[:-3] if path.endswith(".gz") else path
    return (f"rm -f {plain} {path} && "
            + dump_to(platform, database, plain, position, " --add-drop-database", connect)
            + f"; rc=$?; rm -f {options_file}; [ $rc -eq 0 ] || rm -f {plain} {path}; exit $rc")


def keep_copy_command(platform: Platform, database: str, copies_dir: str = paths.REPLACED_COPIES,
                      keep: int = KEEP_COPIES) -> str:
    """Dump DATABASE as this node has it into COPIES_DIR (gzipped, dated; the newest KEEP kept)."""
    stamp = "$(date -u +%Y%m%dT%H%M%SZ)"
    path = f"{copies_dir}/{database}-replaced-{stamp}.sql.gz"
    # a failed dump fails the operation, and so stops the seed
    return (f"install -d -m 0700 -o root -g root {copies_dir} && f={path[:-3]} && "
            + dump_to(platform, database, '"$f"') + ' && echo "kept $f.gz" && '
            f"ls -1t {copies_dir}/{database}-replaced-*.sql.gz | tail -n +{keep + 1} | xargs -r rm -f")


def seed_command(client: str, dump: str, sql_before: str, sql_after: str) -> str:
    """Load DUMP between the two SQL files, the dump's statements kept out of the binary log."""
    return (f"gzip -t {dump} && {client} < {sql_before} && "
            f"{{ echo 'SET SESSION sql_log_bin = 0;'; gzip -dc {dump}; }} | {client} && "
            f"{client} < {sql_after}; rc=$?; rm -f {dump} {sql_before} {sql_after}; exit $rc")


def wait_command(platform: Platform, seconds: int = WAIT_S) -> str:
    """Wait (bounded) until this node's channel runs both threads; otherwise print it and fail."""
    c = platform.db_client
    return (f"i=0; while [ $i -lt {seconds} ]; do s=$({c} -E -e 'SHOW SLAVE STATUS' 2>&1); "
            "echo \"$s\" | grep -q 'Slave_IO_Running: Yes' && echo \"$s\" | grep -q 'Slave_SQL_Running: Yes' && "
            "{ echo replicating; exit 0; }; i=$((i+1)); sleep 1; done; "
            "echo \"$s\" | grep -E 'Master_Host|_Running:|Last_.*Err'; exit 1")
