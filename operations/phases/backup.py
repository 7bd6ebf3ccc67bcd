"""Backup phase: a nightly logical backup of the QueueMetrics database on each node.

An HA pair is not a backup: a bad ``DELETE`` reaches the peer in milliseconds, and binary logs
expire. Each node dumps the database every night at ``qm_backup_time`` (``qmha-backup.timer``; a
run missed while the node was off starts at boot) into ``qm_backup_dir``: consistent
(``--single-transaction``), with its binary-log position and GTID as comments, gzipped, root only,
the newest ``qm_backup_keep`` kept. The script (``templates/backup/qmha-backup.sh.j2``) records its
last run in ``paths.BACKUP_LAST``, which ``make status`` reads; a failure also goes to the journal
(``journalctl -t qmha-backup``). Both nodes back up: either node's copy restores the cluster.

Example:

.. code:: python

    from operations.phases import backup
    backup.configure(run)
"""

from __future__ import annotations

import shlex

from pyinfra.api import deploy
from pyinfra.operations import systemd
from pyinfra.operations.util import any_changed

from .. import managed, paths
from ..context import Run
from ..facts.mariadb import MariadbServer
from ..mariadb import capabilities
from ..render import config_file
from ..prefetch import node_fact

TIMER = "qmha-backup.timer"


def script_values(run: Run, gtid: bool) -> dict:
    """What templates/backup/qmha-backup.sh.j2 needs on this node."""
    k, p = run.knobs, run.platform
    return {"database": k.qm_db_name, "directory": shlex.quote(k.qm_backup_dir), "keep": int(k.qm_backup_keep),
            "last": paths.BACKUP_LAST, "dump": p.db_dump, "client": p.db_client, "gtid": gtid}


@deploy("Nightly database backup")
def configure(run: Run):
    """The backup script, its service and its timer (enabled); systemd re-read when a unit changed."""
    from pyinfra import host

    p = run.platform
    caps = capabilities(node_fact(host, MariadbServer, client=p.db_client), p)
    config_file("backup/qmha-backup.sh.j2", paths.BACKUP_SCRIPT, script_values(run, caps.gtid),
                name=paths.BACKUP_SCRIPT, user="root", group="root", mode="0700", create_remote_dir=False)
    units = [
        config_file("backup/qmha-backup.service.j2", "/etc/systemd/system/qmha-backup.service",
                    {"script": paths.BACKUP_SCRIPT, "db_service": p.db_service}, name="qmha-backup.service",
                    user="root", group="root", mode="0644", create_remote_dir=False),
        config_file("backup/qmha-backup.timer.j2", f"/etc/systemd/system/{TIMER}", {"time": run.knobs.qm_backup_time},
                    name=TIMER, user="root", group="root", mode="0644", create_remote_dir=False),
    ]
    systemd.daemon_reload(name="systemd reads the backup units", _if=any_changed(*units))
    managed.systemctl(name=f"{TIMER} enabled", service=TIMER, command="restart", _if=any_changed(*units))
    managed.service(name=f"{TIMER} running", service=TIMER, running=True, enabled=True)
