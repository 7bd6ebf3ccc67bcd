"""The replication plan of this run: both nodes' facts gathered once, then ``make_plan``.

Preflight and the phase share the one plan (``context.per_run``), made at the first host that asks.

Example:

.. code:: python

    from operations.phases.replication.gather import cluster_plan
    plan = cluster_plan(run)
"""

from __future__ import annotations

from pyinfra import inventory
from pyinfra.facts.files import FileContents

from ... import paths
from ...atomic import identity as file_identity
from ...cluster import NodeSpec
from ...context import Run, for_host, per_run
from ...facts.system import DirectoryMiB, FreeMiB
from ...facts.mariadb import ChannelPassword, DatabaseAccounts, MariadbServer, ReplicationStatus
from ...mariadb import LOG_FILES, capabilities, native_password_hash, password_sha256, replication_account_current
from ...platform import Platform
from ...prefetch import node_fact
from .plan import NodeFacts, Plan, make_plan


def gather(h, node: NodeSpec, peer_address: str, platform: Platform, database: str, password: str,
           sizes: bool = False) -> NodeFacts:
    """What the plan needs from host H (NODE of the cluster), read from its facts; SIZES: also its
    data's size and the room it has for a copy of the peer's (a rebuild is asked for)."""
    # each read whatever the server's state (a node without one answers the defaults): a run reads
    # the same facts on a fresh node as on a deployed one, so the next run reads them all ahead
    server = node_fact(h, MariadbServer, client=platform.db_client)
    status = node_fact(h, ReplicationStatus, client=platform.db_client)
    accounts = node_fact(h, DatabaseAccounts, database=database, client=platform.db_client)
    marker = node_fact(h, FileContents, path=paths.DUMP_MARKER)
    channel_password = node_fact(h, ChannelPassword, client=platform.db_client)
    if not status.get("channel"):
        channel_password = None
    if not server["installed"]:
        status, accounts, marker = ReplicationStatus.default(), {}, None
    data_mib = free_mib = None
    if sizes:
        data_mib = node_fact(h, DirectoryMiB, path=platform.db_data_dir, exclude=LOG_FILES) if server["installed"] else 0
        free = [node_fact(h, FreeMiB, path=where) for where in (platform.db_data_dir, paths.REBUILD_DIR)]
        free_mib = None if None in free else min(free)
    return NodeFacts(name=h.name, address=node.address, fqdn=node.fqdn, server=server, status=status,
                     tables=(accounts or {}).get("tables", 0), data_mib=data_mib, free_mib=free_mib,
                     dump_marker=(marker or [None])[0], channel_password=channel_password,
                     repl_account_current=replication_account_current(accounts, peer_address,
                                                                               native_password_hash(password)))


def cluster_plan(run: Run) -> Plan:
    """The plan for this run, made once from both nodes' facts and shared by preflight and the phase."""
    def make() -> Plan:
        runs = [for_host(inventory.get_host(n.host_name)) for n in run.cluster.nodes]
        if any(r.platform is None for r in runs):
            return Plan(mode="unknown")  # preflight reports the OS
        k = runs[0].knobs
        password = run.secrets["db_replication_password"]
        nodes = [gather(inventory.get_host(r.me.host_name), r.me, r.peer.address, r.platform, k.qm_db_name, password,
                        sizes=k.qm_db_resync is not None) for r in runs]
        caps = min((capabilities(n.server, r.platform) for n, r in zip(nodes, runs)), key=lambda x: x.version)
        return make_plan(nodes, caps, k.qm_db_name, dump=file_identity(k.qm_db_dump), resync=k.qm_db_resync,
                         import_into_nonempty=k.qm_db_import_into_nonempty, password=password_sha256(password),
                         physical=all(r.platform.db_physical_copy for r in runs))
    return per_run("replication plan", make)
