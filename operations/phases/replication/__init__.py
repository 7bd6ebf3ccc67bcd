"""Replication phase: seed the pair, run a channel each way over TLS, and never disturb a healthy one.

How the run is sequenced
------------------------
pyinfra reads facts while it *prepares* the run, before anything executes. This phase therefore
decides once, from facts read at prepare time on **both** nodes, into a ``Plan`` (a pure function,
tested without nodes), and every step is an ``@operation`` called on both nodes in a fixed order:
each node yields commands only for its own part, so the shared call order makes "node B pulls
node A's dump and loads it, then node A points at node B" hold across hosts. Facts read before MariaDB is
installed say so (``MariadbServer.installed`` is False): the plan then is the first-run plan, and
its commands are written to be right on the freshly configured servers the earlier phase leaves.
Values that only exist at execution time (the source's binary log position or GTID at the moment
of the dump) never pass through the control machine: the dump carries them (``--master-data=1``,
with ``--gtid`` in GTID mode) and sets them while it loads.

Each step re-reads ``ReplicationStatus`` for its node, so a re-run on a healthy pair yields no
command at all. A broken channel is never repaired by guessing: preflight reports the node, the
thread states and ``Last_*_Error``, and the flag (``--data qm_db_resync=node-b``) that re-seeds that
node from its peer. The flag acts only on a node whose channel is not healthy, so leaving it in an
inventory is harmless. A node found empty (reinstalled, or its data lost) while its peer has tables
and a channel from it is refused the same way; with the flag it is rebuilt from its peer: with a
physical copy in the database phase where the platform has one (``operations/phases/rebuild.py``,
``Plan.method == "physical"``; this phase then only points the peer's channel at it), else seeded
with the dump as below.

Modes (by the server version, see ``mariadb.Capabilities``)
-------------------------------------------------------------
- ``gtid`` (MariaDB >= 10.0): ``MASTER_USE_GTID=slave_pos``, per-node ``gtid_domain_id``. A
  seeded node gets the source's GTID position from the dump (``gtid_slave_pos``) and the same
  value as its ``gtid_binlog_state`` (its binary log is reset first), so its peer finds its own
  position in the seeded node's log. The peer starts from its own ``gtid_binlog_pos``.
- ``file`` (MariaDB 5.5): the dump sets the seeded node's file/position; the peer starts at the
  beginning of the seeded node's binary log (``mysql-bin.000001``, 4), which holds only what
  happened after the seed.

Seeding node T from node S: T dumps S's database over TLS, node to node, with S's seed account
(read-only, for T's address only, ``REQUIRE SSL``; ``--single-transaction --master-data=1``) into
its root-only directory: the data never passes through the control machine, and nothing on T
changes until the dump is whole. Then T stops and clears its channel, resets its binary log,
points at S, loads the dump with ``sql_log_bin=0`` (it replaces T's copy: ``--add-drop-database``),
and starts. Then S's channel is (re)pointed at T.

The package: ``plan`` (the pure decisions), ``statements`` (SQL and shell text), ``gather``
(both nodes' facts, once per run), ``steps`` (the operations).

Example:

.. code:: python

    from operations.phases import replication
    replication.configure(run)      # in deploy.py, after database.configure(run, tls_files)
"""

from __future__ import annotations

from pyinfra.api import deploy

from ...context import Run
from . import steps
from .gather import cluster_plan

__all__ = ["cluster_plan", "configure"]


@deploy("Replication")
def configure(run: Run):
    """Seed and start master-master replication as ``cluster_plan(run)`` decides; nothing when healthy."""
    plan = cluster_plan(run)
    if plan.problems:  # preflight has refused already; never act on a refused plan
        return
    database = run.knobs.qm_db_name
    if plan.import_on:
        steps.import_dump(name="Import qm_db_dump", plan=plan, run=run)
    if plan.target and plan.method == "dump":  # a physical copy was put in place by the database phase
        steps.keep_replaced_copy(name=f"Keep {plan.target}'s own copy of {database} before it is replaced",
                                 plan=plan, run=run)
        steps.seed_from_peer(name=f"Seed {plan.target} from {plan.source} (its dump pulled over TLS)",
                             plan=plan, run=run)
    if plan.point:
        steps.point_at_peer(name=f"Point {plan.point}'s channel at its peer", plan=plan, run=run)
    if plan.start or plan.retune:
        steps.channel_settings(name="Start or retune replication channels", plan=plan, run=run)
    steps.replicating(name="Both replication channels running", plan=plan, run=run)
