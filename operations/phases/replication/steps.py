"""The replication phase's operations, each called on both nodes in one fixed order.

Each yields commands only on the node the plan names for it, so the shared call order makes
"node B pulls node A's dump and loads it, then node A points at node B" hold across hosts.

Example:

.. code:: python

    from operations.phases.replication import steps
    steps.seed_from_peer(name="Seed node-b from node-a", plan=plan, run=run)
"""

from __future__ import annotations

import io

from pyinfra import host
from pyinfra.api import FileUploadCommand, StringCommand, operation
from pyinfra.facts.files import FileContents

from ... import paths
from ...atomic import identity as file_identity
from ...context import Run
from ...facts.mariadb import MariadbServer, ReplicationStatus
from ...mariadb import SEED_USER, Capabilities, capabilities, client_options, run_sql, sql_string, sql_upload
from ...prefetch import node_fact
from .plan import Plan, channel_state, master_host
from .statements import (keep_copy_command, point_sql, pull_dump_command, retune_sql, seed_command, seed_sql,
                         wait_command)


def _caps(run: Run) -> Capabilities:
    return capabilities(node_fact(host, MariadbServer, client=run.platform.db_client), run.platform)


def _healthy(run: Run) -> bool:
    p = run.platform
    server = node_fact(host, MariadbServer, client=p.db_client)
    status = node_fact(host, ReplicationStatus, client=p.db_client) if server["installed"] else {}
    return channel_state(server, status, run.peer.address, _caps(run), peer_fqdn=run.peer.fqdn).kind == "healthy"


def _peer(run: Run) -> str:
    """How this node's channel names its peer (``plan.master_host``)."""
    return master_host(run.peer.address, run.peer.fqdn, _caps(run))


@operation()
def import_dump(plan: Plan, run: Run):
    """On ``plan.import_on``: load qm_db_dump (.sql or .sql.gz) once; a marker records which file."""
    if host.name != plan.import_on:
        return
    dump, database = run.knobs.qm_db_dump, run.knobs.qm_db_name
    identity = file_identity(dump)
    if (node_fact(host, FileContents, path=paths.DUMP_MARKER) or [None])[0] == identity:
        return
    staged = f"{paths.SQL_DIR}/import.sql" + (".gz" if dump.endswith(".gz") else "")
    yield FileUploadCommand(dump, staged)
    check = f"gzip -t {staged} && " if staged.endswith(".gz") else ""
    yield StringCommand(
        f"{check}gzip -dcf {staged} | {run.platform.db_client} {database} && "
        f"printf '%s\\n' {sql_string(identity)} > {paths.DUMP_MARKER}; rc=$?; rm -f {staged}; exit $rc"
    )


@operation()
def keep_replaced_copy(plan: Plan, run: Run):
    """On ``plan.target`` when it has tables: a dump of its copy, kept before the seed replaces it
    (writes only this node had are recoverable from it)."""
    if host.name != plan.target or not plan.keep_copy:
        return
    yield StringCommand(keep_copy_command(run.platform, run.knobs.qm_db_name))


@operation()
def seed_from_peer(plan: Plan, run: Run):
    """On ``plan.target``: pull the source's dump, replace this node's copy with it and replicate
    from the source."""
    if host.name != plan.target:
        return
    caps, source = _caps(run), _peer(run)
    before, after = seed_sql(caps, source, run.secrets["db_replication_password"])
    # the dump comes straight from the source's server over TLS (node to node), before anything here changes
    options = f"{paths.SQL_DIR}/seed-client.cnf"
    yield FileUploadCommand(io.BytesIO(client_options(SEED_USER, run.secrets["db_seed_password"]).encode()), options)
    yield StringCommand(pull_dump_command(run.platform, caps, run.knobs.qm_db_name, source, options, paths.SEED_DUMP))
    upload_before, sql_before = sql_upload(before, "seed-before")
    upload_after, sql_after = sql_upload(after, "seed-after")
    yield upload_before
    yield upload_after
    yield StringCommand(seed_command(run.platform.db_client, paths.SEED_DUMP, sql_before, sql_after))


@operation()
def point_at_peer(plan: Plan, run: Run):
    """On ``plan.point``: (re)create this node's channel from its peer, from the peer's fresh log."""
    if host.name != plan.point:
        return
    if plan.target is None and _healthy(run):
        return
    yield from run_sql(point_sql(_caps(run), _peer(run), run.secrets["db_replication_password"]),
                       run.platform.db_client, "point")


@operation()
def channel_settings(plan: Plan, run: Run):
    """On nodes in ``plan.start`` / ``plan.retune``: start a stopped channel (it had no error), or
    correct a running channel's TLS and retry settings in place."""
    if host.name not in plan.start and host.name not in plan.retune:
        return
    if host.name in plan.start:
        yield from run_sql(["START SLAVE"], run.platform.db_client, "start")
    else:
        channel = node_fact(host, ReplicationStatus, client=run.platform.db_client).get("channel") or {}
        rehost = _peer(run) if channel.get("master_host") != _peer(run) else None
        yield from run_sql(retune_sql(_caps(run), run.secrets["db_replication_password"], rehost),
                           run.platform.db_client, "retune")


@operation()
def replicating(plan: Plan, run: Run):
    """After any change of this phase: wait (bounded) for this node's channel to run both threads."""
    if not plan.changes:
        return
    yield StringCommand(wait_command(run.platform))
