"""Replication phase: seed the pair, run a channel each way over TLS, and never disturb a healthy one.

How the run is sequenced
------------------------
pyinfra reads facts while it *prepares* the run, before anything executes. This phase therefore
decides once, from facts read at prepare time on **both** nodes, into a ``Plan`` (a pure function,
tested without nodes), and every step is an ``@operation`` called on both nodes in a fixed order:
each node yields commands only for its own part, so the shared call order makes "node A dumps,
then node B loads, then node A points at node B" hold across hosts. Facts read before MariaDB is
installed say so (``MariadbServer.installed`` is False): the plan then is the first-run plan, and
its commands are written to be right on the freshly configured servers the earlier phase leaves.
Values that only exist at execution time (the source's binary log position or GTID at the moment
of the dump) never pass through the control machine: the dump carries them (``--master-data=1``,
with ``--gtid`` in GTID mode) and sets them while it loads.

Each step re-reads ``ReplicationStatus`` for its node, so a re-run on a healthy pair yields no
command at all. A broken channel is never repaired by guessing: preflight reports the node, the
thread states and ``Last_*_Error``, and the flag (``--data qm_db_resync=node-b``) that re-seeds that
node from its peer. The flag acts only on a node whose channel is not healthy, so leaving it in an
inventory is harmless.

Modes (by the server version, see ``database.Capabilities``)
-------------------------------------------------------------
- ``gtid`` (MariaDB >= 10.0): ``MASTER_USE_GTID=slave_pos``, per-node ``gtid_domain_id``. A
  seeded node gets the source's GTID position from the dump (``gtid_slave_pos``) and the same
  value as its ``gtid_binlog_state`` (its binary log is reset first), so its peer finds its own
  position in the seeded node's log. The peer starts from its own ``gtid_binlog_pos``.
- ``file`` (MariaDB 5.5): the dump sets the seeded node's file/position; the peer starts at the
  beginning of the seeded node's binary log (``mysql-bin.000001``, 4), which holds only what
  happened after the seed.

Seeding node T from node S: S dumps the database (``--single-transaction --master-data=1``), the
control machine copies the file from S to T (SFTP, root-only directories), T stops and clears its
channel, resets its binary log, points at S, loads the dump with ``sql_log_bin=0`` (it replaces
T's copy: ``--add-drop-database``), and starts. Then S's channel is (re)pointed at T.

Example:

.. code:: python

    from operations import replication
    replication.configure()      # in deploy.py, after database.configure()
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from gevent.lock import Semaphore
from pyinfra import host, inventory
from pyinfra.api import FileUploadCommand, FunctionCommand, StringCommand, deploy, operation
from pyinfra.context import ctx_state
from pyinfra.facts.files import FileContents

from . import cluster as cluster_mod
from . import local, tls
from .database import (REPLICATION_USER, SQL_DIR, STATE_DIR, Capabilities, capabilities, native_password_hash,
                       run_sql, sql_string, sql_upload)
from .elevated import as_inventory_says
from .facts import ChannelPassword, DatabaseAccounts, MariadbServer, ReplicationStatus
from .platform import Platform, platform_of, supported_platform_of

CONNECT_RETRY_S = 10
#: IO-thread errors that heal by themselves (peer down or restarting): not a broken channel
TRANSIENT_IO_ERRNOS = {0, 1040, 1158, 1159, 2003, 2005, 2006, 2013}
#: the peer refused the channel's login (ER_ACCESS_DENIED_ERROR)
ACCESS_DENIED = 1045
FIRST_BINLOG = "mysql-bin.000001"
SEED_DUMP = f"{SQL_DIR}/seed.sql.gz"
#: root-only: the copy a re-seeded node had, kept (the newest KEEP_COPIES) before it is replaced
COPIES_DIR = f"{STATE_DIR}/replaced"
KEEP_COPIES = 3
DUMP_MARKER = f"{STATE_DIR}/db-dump-imported"
WAIT_S = 60


# ---------------------------------------------------------------- decisions (pure)


@dataclass(frozen=True)
class ChannelState:
    #: "missing" (no channel, or no server yet), "unknown" (server installed but not answering),
    #: "healthy", "drift" (healthy, settings differ), "stopped" (no error) or "broken"
    kind: str
    detail: str = ""


def password_sha256(password: str) -> str:
    """What ``ChannelPassword`` reads for a channel logging in with PASSWORD."""
    return hashlib.sha256(password.encode()).hexdigest()


def channel_state(server: dict, status: dict, peer_address: str, caps: Capabilities,
                  stale_password: bool = False, peer_account_changes: bool = False) -> ChannelState:
    """The kind of this node's channel from its peer, and why.

    STALE_PASSWORD: the channel logs in with another password than the cluster's (``ChannelPassword``);
    PEER_ACCOUNT_CHANGES: this run corrects the replication account on the peer (missing, or another
    password). Either way a login the peer refuses (error 1045) is healed in place, not re-seeded.
    """
    if not server.get("installed"):
        return ChannelState("missing", "MariaDB is not installed yet")
    if not status.get("running"):
        return ChannelState("unknown", "MariaDB is installed but does not answer")
    ch = status.get("channel")
    if not ch:
        return ChannelState("missing", "no replication channel")
    threads = f"IO thread {ch['io_running']}, SQL thread {ch['sql_running']}"
    errors = "; ".join(
        f"Last_{kind}_Errno {ch[f'last_{kind.lower()}_errno']}: {ch[f'last_{kind.lower()}_error']}"
        for kind in ("IO", "SQL") if ch[f"last_{kind.lower()}_errno"]
    )
    if ch["master_host"] != peer_address:
        return ChannelState("broken", f"the channel replicates from {ch['master_host']}, not the peer {peer_address}")
    want_gtid = "Slave_Pos" if caps.gtid else "No"
    if caps.gtid and ch["using_gtid"] != want_gtid:
        return ChannelState("broken", f"the channel uses Using_Gtid={ch['using_gtid']}, not {want_gtid}")
    sql_ok = ch["sql_running"] == "Yes"
    io_ok = ch["io_running"] == "Yes" or (ch["io_running"] == "Connecting" and ch["last_io_errno"] in TRANSIENT_IO_ERRNOS)
    if sql_ok and ch["last_io_errno"] == ACCESS_DENIED and (stale_password or peer_account_changes):
        # the password changed on one side: once both sides hold the cluster's, a fresh login heals the channel
        why = "MASTER_PASSWORD" if stale_password else "the peer's replication account is corrected this run"
        return ChannelState("drift", f"settings differ: {why} (the peer refuses the login: {errors})")
    if sql_ok and io_ok:
        drift = [name for name, ok in (
            ("MASTER_SSL", ch["ssl"]),
            ("MASTER_SSL_CA", ch["ssl_ca"] == tls.NODE_PATHS["ca"]),
            ("MASTER_SSL_VERIFY_SERVER_CERT", ch["ssl_verify_server_cert"] == caps.verify_peer_name),
            ("MASTER_USER", ch["master_user"] == REPLICATION_USER),
            ("MASTER_CONNECT_RETRY", ch["connect_retry"] == CONNECT_RETRY_S),
            ("MASTER_PASSWORD", not stale_password),
        ) if not ok]
        if drift:
            return ChannelState("drift", "settings differ: " + ", ".join(drift))
        return ChannelState("healthy", threads)
    if ch["io_running"] == "No" and ch["sql_running"] == "No" and not errors:
        return ChannelState("stopped", threads)
    return ChannelState("broken", f"{threads}; {errors or 'no error recorded'}")


@dataclass(frozen=True)
class NodeFacts:
    """What the plan needs from one node (facts read at prepare time)."""
    name: str
    address: str
    server: dict
    status: dict
    tables: int = 0
    dump_marker: str | None = None
    #: ``ChannelPassword``: SHA-256 of the password the channel logs in with (None: no channel, unknown)
    channel_password: str | None = None
    #: whether this node's replication account for its peer has the cluster's password (None: unknown)
    repl_account_current: bool | None = None


@dataclass
class Plan:
    mode: str
    states: dict[str, ChannelState] = field(default_factory=dict)
    #: node importing qm_db_dump (binary log on: the peer gets it by seeding or by replication)
    import_on: str | None = None
    #: seeding: SOURCE dumps, TARGET loads and replicates from SOURCE
    source: str | None = None
    target: str | None = None
    #: node whose channel is (re)pointed at its peer from scratch (after a seed, or a channel missing)
    point: str | None = None
    start: list[str] = field(default_factory=list)
    retune: list[str] = field(default_factory=list)
    #: the target has tables of its own: a dump of them is kept on it before they are replaced
    keep_copy: bool = False
    #: (node, requirement, problem, fix): preflight refuses the deploy
    problems: list[tuple[str, str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return bool(self.import_on or self.target or self.point or self.start or self.retune)


def dump_identity(path: str | None) -> str | None:
    """``<sha256>  <file name>``: what the marker on the importing node records."""
    if not path:
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return f"{digest.hexdigest()}  {Path(path).name}"


def make_plan(nodes: list[NodeFacts], caps: Capabilities, database: str, dump: str | None = None,
              resync: str | None = None, import_into_nonempty: bool = False,
              password: str | None = None) -> Plan:
    """The phase's decisions for the pair NODES (node A first), from their facts and the knobs.

    DUMP is ``dump_identity(qm_db_dump)``; RESYNC the host name given as ``qm_db_resync``;
    PASSWORD ``password_sha256`` of the replication password (a channel with another is retuned).
    """
    plan = Plan(mode=caps.mode)
    by_name = {n.name: n for n in nodes}
    peer_of = {nodes[0].name: nodes[1], nodes[1].name: nodes[0]}
    for n in nodes:
        stale = password is not None and n.channel_password is not None and n.channel_password != password
        plan.states[n.name] = channel_state(n.server, n.status, peer_of[n.name].address, caps, stale,
                                            peer_account_changes=peer_of[n.name].repl_account_current is False)
    st = plan.states
    if resync is not None and resync not in by_name:
        plan.problems.append(("inventory", "qm_db_resync", f"{resync!r} is not a host of this inventory",
                              f"set qm_db_resync to one of {', '.join(by_name)}"))
        return plan
    resync_hint = ("re-run with --data qm_db_resync={node}: {node}'s copy of {db} is replaced by a fresh copy "
                   "of {peer}'s and its channel restarted from there (writes only {node} has are not carried over; "
                   "a dump of its copy is kept first in " + COPIES_DIR + ")")

    unknown = [n for n in nodes if st[n.name].kind == "unknown"]
    if unknown:
        for n in unknown:
            plan.notes.append(f"{n.name}: {st[n.name].detail}; the deploy starts it and checks replication on the next run")
        return plan

    if all(st[n.name].kind == "missing" for n in nodes):
        # a new pair (or a first run that stopped before replication): seed B from A, or A from B on request
        source, target = (nodes[1], nodes[0]) if resync == nodes[0].name else (nodes[0], nodes[1])
        plan.source, plan.target, plan.point = source.name, target.name, source.name
        plan.keep_copy = target.tables > 0
        if target.tables and resync != target.name:
            plan.problems.append((target.name, f"empty {database} to seed",
                                  f"{database} has {target.tables} table(s) and no replication yet; seeding "
                                  f"{target.name} from {source.name} would replace them",
                                  f"put the data on {source.name} (the seed source), or "
                                  + resync_hint.format(node=target.name, peer=source.name, db=database)))
    else:
        for n in nodes:
            peer = peer_of[n.name]
            s = st[n.name]
            if s.kind == "healthy":
                if resync == n.name:
                    plan.notes.append(f"qm_db_resync={n.name} ignored: its channel from {peer.name} is healthy")
            elif s.kind == "drift":
                plan.retune.append(n.name)
            elif s.kind == "stopped" and resync != n.name:
                plan.start.append(n.name)
            elif resync == n.name:
                if plan.target:
                    plan.problems.append((n.name, "one node re-seeded at a time", "both nodes need re-seeding",
                                          "re-seed one node, then the other in a second run"))
                plan.source, plan.target, plan.point = peer.name, n.name, peer.name
                plan.keep_copy = n.tables > 0
            elif s.kind == "missing" and st[peer.name].kind in ("healthy", "drift") and (
                    caps.gtid or peer.status.get("first_binlog") == FIRST_BINLOG):
                # an earlier run seeded the peer and stopped before pointing this node at it
                plan.point = n.name
            else:
                plan.problems.append((n.name, f"replication from {peer.name}", s.detail,
                                      resync_hint.format(node=n.name, peer=peer.name, db=database)))
        if plan.point and plan.target is None and plan.point in plan.start:
            plan.start.remove(plan.point)

    if dump is not None:
        importer = by_name[plan.source] if plan.source else nodes[0]
        if importer.dump_marker != dump:
            if importer.tables and not import_into_nonempty:
                plan.problems.append((importer.name, f"qm_db_dump into an empty {database}",
                                      f"{database} already has {importer.tables} table(s); the dump is not imported "
                                      "over them", "drop them yourself, or set qm_db_import_into_nonempty = True "
                                      "(the dump's statements then run over the existing tables)"))
            else:
                plan.import_on = importer.name
    return plan


def change_master_sql(caps: Capabilities, master_address: str, password: str, position: str = "") -> str:
    """``CHANGE MASTER TO`` the peer over TLS; POSITION is extra ``MASTER_LOG_FILE/POS`` text."""
    options = [
        f"MASTER_HOST = {sql_string(master_address)}",
        "MASTER_PORT = 3306",
        f"MASTER_USER = {sql_string(REPLICATION_USER)}",
        f"MASTER_PASSWORD = {sql_string(password)}",
        f"MASTER_CONNECT_RETRY = {CONNECT_RETRY_S}",
        "MASTER_SSL = 1",
        f"MASTER_SSL_CA = {sql_string(tls.NODE_PATHS['ca'])}",
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
    after.append("START SLAVE")
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


def retune_sql(caps: Capabilities, password: str) -> list[str]:
    """Statements that correct a healthy channel's settings, keeping its host and position."""
    options = [
        f"MASTER_USER = {sql_string(REPLICATION_USER)}", f"MASTER_PASSWORD = {sql_string(password)}",
        f"MASTER_CONNECT_RETRY = {CONNECT_RETRY_S}", "MASTER_SSL = 1",
        f"MASTER_SSL_CA = {sql_string(tls.NODE_PATHS['ca'])}",
        f"MASTER_SSL_VERIFY_SERVER_CERT = {1 if caps.verify_peer_name else 0}",
    ]
    return ["STOP SLAVE", "CHANGE MASTER TO " + ", ".join(options), "START SLAVE"]


def dump_to(platform: Platform, database: str, plain: str, position: str = "", drop: str = "") -> str:
    """A consistent dump of DATABASE into the file PLAIN, then gzipped (PLAIN.gz). No pipe: a failed
    dump fails the command, whatever the shell. POSITION and DROP are extra dump options."""
    return (f"{platform.db_dump} --single-transaction{position} --routines --triggers --events{drop} "
            f"--databases {database} --result-file={plain} && gzip -1 {plain}")


def dump_command(platform: Platform, caps: Capabilities, database: str, path: str) -> str:
    """The source's consistent dump of DATABASE, carrying its position, gzipped at PATH."""
    position = " --master-data=1" + (" --gtid" if caps.gtid else "")
    plain = path[:-3] if path.endswith(".gz") else path
    return f"rm -f {plain} {path} && " + dump_to(platform, database, plain, position, " --add-drop-database")


def keep_copy_command(platform: Platform, database: str, copies_dir: str = COPIES_DIR,
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


# ---------------------------------------------------------------- facts of the pair

_LOCK = Semaphore()
#: per deploy run, keyed by pyinfra's State (weakly: a new run never finds an old run's entry)
_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def flag(value) -> bool:
    """A boolean knob, also when given as text (``--data qm_db_import_into_nonempty=False``)."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off", "none")
    return bool(value)


def repl_account_current(accounts: dict, peer_address: str, password_hash: str) -> bool | None:
    """Whether ACCOUNTS (``DatabaseAccounts``) hold the replication account for PEER_ADDRESS with
    PASSWORD_HASH; None when the server did not answer."""
    if not accounts or not accounts.get("running"):
        return None
    return any(u["user"] == REPLICATION_USER and u["host"] == peer_address and u["password"] == password_hash
               for u in accounts["users"])


def gather(h, node_spec, peer_address: str, platform: Platform, database: str) -> NodeFacts:
    server = h.get_fact(MariadbServer, client=platform.db_client)
    status = h.get_fact(ReplicationStatus, client=platform.db_client) if server["installed"] else ReplicationStatus.default()
    accounts = h.get_fact(DatabaseAccounts, database=database, client=platform.db_client) if server["installed"] else {}
    marker = h.get_fact(FileContents, path=DUMP_MARKER) if server["installed"] else None
    channel_password = h.get_fact(ChannelPassword, client=platform.db_client) if status.get("channel") else None
    return NodeFacts(name=h.name, address=node_spec.address, server=server, status=status,
                     tables=(accounts or {}).get("tables", 0),
                     dump_marker=(marker or [None])[0], channel_password=channel_password,
                     repl_account_current=repl_account_current(accounts, peer_address,
                                                               native_password_hash(_password())))


def cluster_plan() -> Plan:
    """The plan for this run, made once from both nodes' facts and shared by preflight and the phase."""
    with _LOCK:
        key = ctx_state.get()
        if key not in _PLANS:
            c = cluster_mod.from_inventory(inventory)
            hosts = [inventory.get_host(n.host_name) for n in c.nodes]
            platforms = [supported_platform_of(h) for h in hosts]
            if any(p is None for p in platforms):
                _PLANS[key] = Plan(mode="unknown")  # preflight reports the OS
            else:
                data = hosts[0].data
                database = data.get("qm_db_name") or "queuemetrics"
                peers = [c.nodes[1].address, c.nodes[0].address]
                nodes = [gather(h, spec, peer, p, database)
                         for h, spec, peer, p in zip(hosts, c.nodes, peers, platforms)]
                caps = min((capabilities(n.server, p) for n, p in zip(nodes, platforms)), key=lambda x: x.version)
                _PLANS[key] = make_plan(nodes, caps, database, dump=dump_identity(data.get("qm_db_dump")),
                                        resync=data.get("qm_db_resync"),
                                        import_into_nonempty=flag(data.get("qm_db_import_into_nonempty")),
                                        password=password_sha256(_password()))
        return _PLANS[key]


# ---------------------------------------------------------------- operations (called on both nodes)


def _me() -> tuple[Platform, Capabilities, cluster_mod.Cluster]:
    p = platform_of(host)
    return p, capabilities(host.get_fact(MariadbServer, client=p.db_client), p), cluster_mod.current()


def _password() -> str:
    return local.secrets(["db_replication_password"])["db_replication_password"]


def _healthy() -> bool:
    p, caps, c = _me()
    server = host.get_fact(MariadbServer, client=p.db_client)
    status = host.get_fact(ReplicationStatus, client=p.db_client) if server["installed"] else {}
    return channel_state(server, status, c.peer.address, caps).kind == "healthy"


@operation()
def import_dump(plan: Plan, dump: str, database: str):
    """On ``plan.import_on``: load qm_db_dump (.sql or .sql.gz) once; a marker records which file."""
    if host.name != plan.import_on:
        return
    p, _, _ = _me()
    identity = dump_identity(dump)
    if (host.get_fact(FileContents, path=DUMP_MARKER) or [None])[0] == identity:
        return
    staged = f"{SQL_DIR}/import.sql" + (".gz" if dump.endswith(".gz") else "")
    yield FileUploadCommand(dump, staged)
    check = f"gzip -t {staged} && " if staged.endswith(".gz") else ""
    yield StringCommand(
        f"{check}gzip -dcf {staged} | {p.db_client} {database} && "
        f"printf '%s\\n' {sql_string(identity)} > {DUMP_MARKER}; rc=$?; rm -f {staged}; exit $rc"
    )


@operation()
def dump_for_peer(plan: Plan, database: str):
    """On ``plan.source``: a consistent dump with its replication position, for the node being seeded."""
    if host.name != plan.source:
        return
    p, caps, _ = _me()
    yield StringCommand(dump_command(p, caps, database, SEED_DUMP))


def _copy_seed(state, host, source_name: str, path: str):
    """Copy PATH from the source node to this one through the control machine (owner-only temp dir)."""
    source = state.inventory.get_host(source_name)
    workdir = tempfile.mkdtemp(prefix="qmha-seed-")
    try:
        local_copy = str(Path(workdir) / Path(path).name)
        if not source.get_file(path, local_copy, **as_inventory_says(state, source)):
            raise RuntimeError(f"could not fetch {path} from {source_name}")
        if not host.put_file(local_copy, path, **as_inventory_says(state, host)):
            raise RuntimeError(f"could not upload {path} to {host.name}")
        source.run_shell_command(StringCommand("rm", "-f", path), **as_inventory_says(state, source))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return True


@operation()
def keep_replaced_copy(plan: Plan, database: str):
    """On ``plan.target`` when it has tables: a dump of its copy, kept before the seed replaces it
    (writes only this node had are recoverable from it)."""
    if host.name != plan.target or not plan.keep_copy:
        return
    p, _, _ = _me()
    yield StringCommand(keep_copy_command(p, database))


@operation()
def seed_from_peer(plan: Plan):
    """On ``plan.target``: replace this node's copy with the source's dump and replicate from the source."""
    if host.name != plan.target:
        return
    p, caps, c = _me()
    before, after = seed_sql(caps, c.peer.address, _password())
    yield FunctionCommand(_copy_seed, (plan.source, SEED_DUMP), {})
    upload_before, sql_before = sql_upload(before, "seed-before")
    upload_after, sql_after = sql_upload(after, "seed-after")
    yield upload_before
    yield upload_after
    yield StringCommand(seed_command(p.db_client, SEED_DUMP, sql_before, sql_after))


@operation()
def point_at_peer(plan: Plan):
    """On ``plan.point``: (re)create this node's channel from its peer, from the peer's fresh log."""
    if host.name != plan.point:
        return
    p, caps, c = _me()
    if plan.target is None and _healthy():
        return
    yield from run_sql(point_sql(caps, c.peer.address, _password()), p.db_client, "point")


@operation()
def channel_settings(plan: Plan):
    """On nodes in ``plan.start`` / ``plan.retune``: start a stopped channel (it had no error), or
    correct a running channel's TLS and retry settings in place."""
    if host.name not in plan.start and host.name not in plan.retune:
        return
    p, caps, _ = _me()
    if host.name in plan.start:
        yield from run_sql(["START SLAVE"], p.db_client, "start")
    else:
        yield from run_sql(retune_sql(caps, _password()), p.db_client, "retune")


@operation()
def replicating(plan: Plan):
    """After any change of this phase: wait (bounded) for this node's channel to run both threads."""
    if not plan.changes:
        return
    p, _, _ = _me()
    yield StringCommand(wait_command(p))


@deploy("Replication")
def configure():
    """Seed and start master-master replication as ``cluster_plan()`` decides; nothing when healthy."""
    plan = cluster_plan()
    if plan.problems:  # preflight has refused already; never act on a refused plan
        return
    data = host.data
    database = data.get("qm_db_name") or "queuemetrics"
    if plan.import_on:
        import_dump(name="Import qm_db_dump", plan=plan, dump=str(data.get("qm_db_dump")), database=database)
    if plan.target:
        keep_replaced_copy(name=f"Keep {plan.target}'s own copy of {database} before it is replaced", plan=plan,
                           database=database)
        dump_for_peer(name=f"Dump {database} on {plan.source} for {plan.target}", plan=plan, database=database)
        seed_from_peer(name=f"Seed {plan.target} from {plan.source}", plan=plan)
    if plan.point:
        point_at_peer(name=f"Point {plan.point}'s channel at its peer", plan=plan)
    if plan.start or plan.retune:
        channel_settings(name="Start or retune replication channels", plan=plan)
    replicating(name="Both replication channels running", plan=plan)
