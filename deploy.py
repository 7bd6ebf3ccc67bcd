"""qm-ha: two fresh servers -> an active-active QueueMetrics HA cluster.

    pyinfra inventories/customer.py deploy.py --dry --diff   # preview
    pyinfra inventories/customer.py deploy.py                # apply

Phases run in the seed's order; preflight checks every requirement on both nodes before any
phase changes anything.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from operations import app, base, database, firewall, preflight, replication, selinux, sync, tls, web  # noqa: E402

preflight.check()
base.configure()
tls_files = tls.install()
database.configure(tls_files)
replication.configure()
app.configure()
web.configure(tls_files)
sync.configure()
selinux.configure()
firewall.configure()
