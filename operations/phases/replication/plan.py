"""The replication phase's decisions, pure: the state of each channel and the plan for the pair.

``make_plan`` takes both nodes' facts (``NodeFacts``, gathered once per run by ``gather``) and the
knobs, and says what the run does: import the customer's dump, seed one node from the other, point
a channel, start or retune one, or refuse (``Plan.problems``, which preflight reports).

Example:

.. code:: python

    from operations.phases.replication.plan import make_plan
    plan = make_plan([facts_a, facts_b], caps, "queuemetrics")
    plan.target, plan.problems
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ... import paths
from ...mariadb import CONNECT_RETRY_S, HEARTBEAT_S, REPLICATION_USER, Capabilities
from ...rebuild import peer_channel_from

#: IO-thread errors that heal by themselves (peer down or restarting): not a broken channel
TRANSIENT_IO_ERRNOS = {0, 1040, 1158, 1159, 2003, 2005, 2006, 2013}
#: the peer refused the channel's login (ER_ACCESS_DENIED_ERROR)
ACCESS_DENIED = 1045
#: a freshly reset binary log starts here (file/position mode points the peer at it)
FIRST_BINLOG = "mysql-bin.000001"
#: how many replaced copies a re-seeded node keeps
KEEP_COPIES = 3


@dataclass(frozen=True)
class ChannelState:
    #: "missing" (no channel, or no server yet), "unknown" (server installed but not answering),
    #: "healthy", "drift" (healthy, settings differ), "stopped" (no error) or "broken"
    kind: str
    detail: str = ""


def master_host(peer_address: str, peer_fqdn: str | None, caps: Capabilities) -> str:
    """How a channel names its peer: by the peer's node FQDN where the server checks the peer
    certificate's names (so a certificate naming the node FQDNs only, as a bought one does, is
    verified), by its address on a server that checks no name (5.5)."""
    return peer_fqdn if peer_fqdn and caps.verify_peer_name else peer_address


def channel_state(server: dict, status: dict, peer_address: str, caps: Capabilities,
                  stale_password: bool = False, peer_account_changes: bool = False,
                  peer_fqdn: str | None = None) -> ChannelState:
    """The kind of this node's channel from its peer, and why.

    The peer is PEER_ADDRESS or PEER_FQDN; a channel naming it otherwise than ``master_host`` wants
    (an address where the FQDN belongs) is drift, corrected in place.

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
    if ch["master_host"] not in (peer_address, peer_fqdn or peer_address):
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
            ("MASTER_HOST", ch["master_host"] == master_host(peer_address, peer_fqdn, caps)),
            ("MASTER_SSL", ch["ssl"]),
            ("MASTER_SSL_CA", ch["ssl_ca"] == paths.TLS["ca"]),
            ("MASTER_SSL_VERIFY_SERVER_CERT", ch["ssl_verify_server_cert"] == caps.verify_peer_name),
            ("MASTER_USER", ch["master_user"] == REPLICATION_USER),
            ("MASTER_CONNECT_RETRY", ch["connect_retry"] == CONNECT_RETRY_S),
            ("MASTER_HEARTBEAT_PERIOD", ch.get("heartbeat_period") == HEARTBEAT_S),
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
    #: the node FQDN (None: its peer's channel names it by address)
    fqdn: str | None = None
    #: read only when a rebuild is asked for (None: not read): MiB of the server's data directory without
    #: its binary and relay logs (what a physical copy holds), and MiB free for a copy of the peer's (the
    #: least of its data directory's and the rebuild folder's)
    data_mib: int | None = None
    free_mib: int | None = None


@dataclass
class Plan:
    mode: str
    states: dict[str, ChannelState] = field(default_factory=dict)
    #: node importing qm_db_dump (binary log on: the peer gets it by seeding or by replication)
    import_on: str | None = None
    #: seeding: TARGET pulls SOURCE's dump over TLS, loads it and replicates from SOURCE
    source: str | None = None
    target: str | None = None
    #: node whose channel is (re)pointed at its peer from scratch (after a seed, or a channel missing)
    point: str | None = None
    start: list[str] = field(default_factory=list)
    retune: list[str] = field(default_factory=list)
    #: the target has tables of its own: a dump of them is kept on it before they are replaced
    keep_copy: bool = False
    #: how the target gets the source's data: "dump" (the seed: a logical dump pulled over TLS) or
    #: "physical" (a node rebuilt from its peer: the server's physical copy streamed over SSH,
    #: ``operations/rebuild.py``, done in the database phase)
    method: str = "dump"
    #: (node, requirement, problem, fix): preflight refuses the deploy
    problems: list[tuple[str, str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return bool(self.import_on or self.target or self.point or self.start or self.retune)


def empty_beside_data(node: NodeFacts, peer: NodeFacts, state: ChannelState) -> bool:
    """NODE has no channel and no table while PEER has tables and a channel from NODE: NODE was
    reinstalled, or lost its data (pointing it at PEER as it is would leave it without the data)."""
    return state.kind == "missing" and not node.tables and bool(peer.tables) and \
        peer_channel_from(peer.status, node.address, node.fqdn)


def rebuild_room(source: NodeFacts, target: NodeFacts) -> tuple[str, str, str, str] | None:
    """A problem when TARGET has less room than SOURCE's data takes (unknown sizes: no problem)."""
    if source.data_mib is None or target.free_mib is None or target.free_mib >= source.data_mib:
        return None
    return (target.name, "room for the copy", f"{target.free_mib} MiB free for a copy of {source.name}'s data, which "
            f"takes {source.data_mib} MiB", f"free space on {target.name} (where MariaDB keeps its data and under "
            f"{paths.STATE}), or give it a larger disk, then deploy again with the flag")


def make_plan(nodes: list[NodeFacts], caps: Capabilities, database: str, dump: str | None = None,
              resync: str | None = None, import_into_nonempty: bool = False,
              password: str | None = None, physical: bool = False) -> Plan:
    """The phase's decisions for the pair NODES (node A first), from their facts and the knobs.

    DUMP is ``atomic.identity(qm_db_dump)``; RESYNC the host name given as ``qm_db_resync``;
    PASSWORD ``password_sha256`` of the replication password (a channel with another is retuned);
    PHYSICAL: both platforms have a physical copy (``Platform.db_physical_copy``), so a node found
    empty beside its peer's data is rebuilt with it rather than seeded with a dump.
    """
    plan = Plan(mode=caps.mode)
    by_name = {n.name: n for n in nodes}
    peer_of = {nodes[0].name: nodes[1], nodes[1].name: nodes[0]}
    for n in nodes:
        stale = password is not None and n.channel_password is not None and n.channel_password != password
        plan.states[n.name] = channel_state(n.server, n.status, peer_of[n.name].address, caps, stale,
                                            peer_fqdn=peer_of[n.name].fqdn,
                                            peer_account_changes=peer_of[n.name].repl_account_current is False)
    st = plan.states
    if resync is not None and resync not in by_name:
        plan.problems.append(("inventory", "qm_db_resync", f"{resync!r} is not a host of this inventory",
                              f"set qm_db_resync to one of {', '.join(by_name)}"))
        return plan
    resync_hint = ("re-run with --data qm_db_resync={node}: {node}'s copy of {db} is replaced by a fresh copy "
                   "of {peer}'s and its channel restarted from there (writes only {node} has are not carried over; "
                   "a dump of its copy is kept first in " + paths.REPLACED_COPIES + ")")

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
        rebuilt = [n for n in nodes if empty_beside_data(n, peer_of[n.name], st[n.name])]
        for n in rebuilt:  # at most one: its peer has tables
            peer = peer_of[n.name]
            if resync != n.name:
                plan.problems.append((n.name, f"a copy of {database}",
                                      f"{n.name} has no {database} (reinstalled, or its data lost) while {peer.name} "
                                      f"has {peer.tables} table(s) and a channel from {n.name}",
                                      f"rebuild {n.name} from {peer.name}: deploy again with --data qm_db_resync={n.name} "
                                      f"({peer.name} keeps serving; its data is copied node to node)"))
                continue
            plan.source, plan.target, plan.point = peer.name, n.name, peer.name
            plan.method = "physical" if physical and caps.gtid else "dump"
            room = rebuild_room(peer, n)
            if room:
                plan.problems.append(room)
        skip = {m.name for n in rebuilt for m in (n, peer_of[n.name])}  # the peer's channel is pointed anew
        for n in nodes:
            peer = peer_of[n.name]
            s = st[n.name]
            if n.name in skip:
                continue
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
