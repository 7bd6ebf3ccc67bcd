"""The replication phase's operations, each called on both nodes in one fixed order.

Each yields commands only on the node the plan names for it, so the shared call order makes
"node A dumps, then node B loads, then node A points at node B" hold across hosts.

Example:

.. code:: python

    from operations.phases.replication import steps
    steps.seed_from_peer(name="Seed node-b from node-a", plan=plan, run=run)
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from pyinfra import host
from pyinfra.api import FileUploadCommand, FunctionCommand, StringCommand, operation
from pyinfra.facts.files import FileContents

from ... import paths
from ...atomic import identity as file_identity
from ...context import Run
from ...elevated import as_inventory_says
from ...facts.mariadb import MariadbServer, ReplicationStatus
from ...mariadb import Capabilities, capabilities, run_sql, sql_string, sql_upload
from .plan import Plan, channel_state, master_host
from .statements import (dump_command, keep_copy_command, point_sql, retune_sql, seed_command, seed_sql,
                         wait_command)


def _caps(run: Run) -> Capabilities:
    return capabilities(host.get_fact(MariadbServer, client=run.platform.db_client), run.platform)


def _healthy(run: Run) -> bool:
    p = run.platform
    server = host.get_fact(MariadbServer, client=p.db_client)
    status = host.get_fact(ReplicationStatus, client=p.db_client) if server["installed"] else {}
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
    if (host.get_fact(FileContents, path=paths.DUMP_MARKER) or [None])[0] == identity:
        return
    staged = f"{paths.SQL_DIR}/import.sql" + (".gz" if dump.endswith(".gz") else "")
    yield FileUploadCommand(dump, staged)
    check = f"gzip -t {staged} && " if staged.endswith(".gz") else ""
    yield StringCommand(
        f"{check}gzip -dcf {staged} | {run.platform.db_client} {database} && "
        f"printf '%s\\n' {sql_string(identity)} > {paths.DUMP_MARKER}; rc=$?; rm -f {staged}; exit $rc"
    )


@operation()
def dump_for_peer(plan: Plan, run: Run):
    """On ``plan.source``: a consistent dump with its replication position, for the node being seeded."""
    if host.name != plan.source:
        return
    yield StringCommand(dump_command(run.platform, _caps(run), run.knobs.qm_db_name, paths.SEED_DUMP))


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
def keep_replaced_copy(plan: Plan, run: Run):
    """On ``plan.target`` when it has tables: a dump of its copy, kept before the seed replaces it
    (writes only this node had are recoverable from it)."""
    if host.name != plan.target or not plan.keep_copy:
        return
    yield StringCommand(keep_copy_command(run.platform, run.knobs.qm_db_name))


@operation()
def seed_from_peer(plan: Plan, run: Run):
    """On ``plan.target``: replace this node's copy with the source's dump and replicate from the source."""
    if host.name != plan.target:
        return
    before, after = seed_sql(_caps(run), _peer(run), run.secrets["db_replication_password"])
    yield FunctionCommand(_copy_seed, (plan.source, paths.SEED_DUMP), {})
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
        channel = host.get_fact(ReplicationStatus, client=run.platform.db_client).get("channel") or {}
        rehost = _peer(run) if channel.get("master_host") != _peer(run) else None
        yield from run_sql(retune_sql(_caps(run), run.secrets["db_replication_password"], rehost),
                           run.platform.db_client, "retune")


@operation()
def replicating(plan: Plan, run: Run):
    """After any change of this phase: wait (bounded) for this node's channel to run both threads."""
    if not plan.changes:
        return
    yield StringCommand(wait_command(run.platform))
