"""Rebuild a node from its peer: a reinstalled node (or one whose data is lost) gets a physical copy of
its peer's server, streamed node to node over SSH, while the peer keeps serving.

Asked for with ``--data qm_db_resync=node-b`` on the normal deploy; the replication plan decides
(``Plan.method == "physical"``: the node has no database while its peer has tables and a channel from
it, and both platforms have a physical copy, ``Platform.db_physical_copy``; elsewhere the seed's dump
path does the same job). Run at the end of the database phase, once the target's MariaDB is installed
and configured, over the link the sync phase made (``sync.link``). In order, each step on one node:

1. target: an empty root-only folder for the copy (``paths.REBUILD_DIR``);
2. source: its channel from the target stopped (re-pointed by the replication phase), then
   ``mariadb-backup --backup --stream=xbstream | ssh target rebuild-receive`` (the sync key; the
   target's forced command hands the stream to a root script that extracts it into that folder only);
3. target: the copy prepared, MariaDB stopped, its data directory emptied, the copy moved in, started;
4. target: its own accounts as the deploy defines them, then, in one session, ``RESET MASTER``, the
   copy's GTID as ``gtid_slave_pos`` and ``gtid_binlog_state``, its channel from the source started;
5. target: waited for (bounded) until the channel has caught up; the folder removed.

Then the replication phase points the source's channel at the rebuilt node. Each step is logged to the
journal with its time (``journalctl -t qmha-rebuild``). The commands: ``operations/rebuild.py``.

Example:

.. code:: python

    from operations.phases import rebuild
    rebuild.configure(run)      # at the end of database.configure(run)
"""

from __future__ import annotations

from io import StringIO

from pyinfra import host, inventory
from pyinfra.api import FunctionCommand, StringCommand, deploy, operation

from .. import paths
from .. import rebuild as commands
from ..context import Run
from ..elevated import as_inventory_says
from ..facts.mariadb import DatabaseAccounts, MariadbServer
from ..mariadb import account_statements, capabilities, desired_accounts, run_sql, sql_text
from ..prefetch import node_fact
from .replication.gather import cluster_plan
from .replication.plan import Plan, master_host
from .replication.statements import change_master_sql

#: the rebuilt node's SQL file (root-only SQL_DIR; it holds the replication password)
REJOIN_SQL = f"{paths.SQL_DIR}/rebuild-rejoin.sql"


def _mine(plan: Plan, role: str) -> bool:
    return plan.method == "physical" and host.name == getattr(plan, role)


@operation()
def folder_made(plan: Plan, run: Run):
    """On the target: the empty root-only folder the copy is received into."""
    if _mine(plan, "target"):
        yield StringCommand(commands.folder_command())


@operation()
def copy_sent(plan: Plan, run: Run):
    """On the source: its channel from the target stopped, and its physical copy streamed to the target."""
    if not _mine(plan, "source"):
        return
    yield from run_sql(["STOP SLAVE"], run.platform.db_client, "rebuild-stop")
    yield StringCommand(commands.send_command(run.platform.db_physical_copy, run.peer.address, run.peer.ssh_port))


@operation()
def copy_swapped_in(plan: Plan, run: Run):
    """On the target: the copy prepared and put in place of the data directory; MariaDB started on it."""
    if not _mine(plan, "target"):
        return
    p = run.platform
    for command in commands.swap_commands(p.db_physical_copy, p.db_data_dir, p.db_service):
        yield StringCommand(command)


def _write_rejoin_sql(state, host, run: Run, source_accounts: dict, path: str) -> None:
    """At execution time: the copy's GTID read on the target, the rejoin SQL written there (root-only)."""
    p, k = run.platform, run.knobs
    names = " ".join(f"{p.db_data_dir}/{name}" for name in p.db_physical_copy.binlog_info)
    ok, output = host.run_shell_command(StringCommand(f"for f in {names}; do [ -f $f ] && cat $f && break; done"),
                                        **as_inventory_says(state, host))
    if not ok:
        raise RuntimeError(f"{host.name}: the copy has no binary log info ({names})")
    gtid = commands.binlog_gtid("\n".join(output.stdout_lines))
    caps = capabilities(node_fact(host, MariadbServer, client=p.db_client), p)
    secrets = run.secrets
    accounts = account_statements(
        source_accounts,
        desired_accounts(k.qm_db_app_user, secrets["db_app_password"], secrets["db_replication_password"],
                         secrets["db_seed_password"], run.peer.address),
        k.qm_db_name, k.qm_db_charset)
    source = master_host(run.peer.address, run.peer.fqdn, caps)
    statements = commands.rejoin_sql(caps, change_master_sql(caps, source, secrets["db_replication_password"]),
                                     gtid, accounts)
    if not host.put_file(StringIO(sql_text(statements)), path, **as_inventory_says(state, host)):
        raise RuntimeError(f"{host.name}: cannot write {path}")


@operation()
def rejoined(plan: Plan, run: Run):
    """On the target: its own accounts, its binary log at the copy's GTID, its channel from the source."""
    if not _mine(plan, "target"):
        return
    p = run.platform
    # the copy's accounts are the source's: the ones to change are read from the source now
    source_accounts = node_fact(inventory.get_host(run.peer.host_name), 
        DatabaseAccounts, database=run.knobs.qm_db_name, client=p.db_client)
    yield FunctionCommand(_write_rejoin_sql, (run, source_accounts, REJOIN_SQL), {})
    yield StringCommand("chmod", "600", REJOIN_SQL)
    yield StringCommand(commands.logged("accounts, binary log and channel set",
                                        f"{p.db_client} < {REJOIN_SQL}; rc=$?; rm -f {REJOIN_SQL}; (exit $rc)"))


@operation()
def caught_up(plan: Plan, run: Run):
    """On the target: waited for (bounded) until its channel has applied all it received; then the
    folder removed, so nothing more can be received into it."""
    if not _mine(plan, "target"):
        return
    yield StringCommand(commands.caught_up_command(run.platform.db_client))
    yield StringCommand(commands.done_command())


@deploy("Rebuild from the peer")
def configure(run: Run):
    """Rebuild the node the replication plan names from its peer's physical copy; nothing otherwise."""
    plan = cluster_plan(run)
    if plan.problems or plan.method != "physical" or not plan.target:
        return
    where = f"{plan.target} from {plan.source}"
    folder_made(name=f"Rebuild {where}: a folder for the copy", plan=plan, run=run)
    copy_sent(name=f"Rebuild {where}: the copy streamed node to node", plan=plan, run=run)
    copy_swapped_in(name=f"Rebuild {where}: the copy in place of the data", plan=plan, run=run)
    rejoined(name=f"Rebuild {where}: own accounts, GTID and channel", plan=plan, run=run)
    caught_up(name=f"Rebuild {where}: caught up", plan=plan, run=run)
