"""qm-ha: two fresh servers -> an active-active QueueMetrics HA cluster.

    pyinfra inventories/customer.py deploy.py --dry --diff   # preview
    pyinfra inventories/customer.py deploy.py                # apply

Phases run in the seed's order; preflight checks every requirement on both nodes before any
phase changes anything. Each phase gets the run context: the cluster, this node and its peer,
the platform row, the knobs, the secrets and the TLS material, built once per run. What the run
read of each node is remembered there, to be read in one command next time (``operations.prefetch``).
"""

import sys
from pathlib import Path

from pyinfra import inventory

sys.path.insert(0, str(Path(__file__).resolve().parent))

from operations import context, prefetch, speedups  # noqa: E402
from operations.phases import (app, backup, base, database, firewall, floating, preflight, replication,  # noqa: E402
                               selinux, sync, tls, web)

speedups.install(inventory)
run = context.current()
preflight.check(run)
base.configure(run)
sync.link(run)
tls_files = tls.configure(run)
database.configure(run, tls_files)
replication.configure(run)
tomcat_started = app.configure(run)
backup.configure(run)  # after Tomcat has started: its first start is the longest wait of a fresh deploy
web.configure(run, tls_files)
floating.configure(run)
sync.configure(run)
selinux.configure(run)
firewall.configure(run)
app.serving(run, tomcat_started)
prefetch.remember_at_end()
