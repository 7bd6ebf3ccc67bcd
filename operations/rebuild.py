"""Rebuilding a node from its peer with a physical copy: the command lines and SQL, pure.

The source streams a hot copy of its whole server (``mariadb-backup --backup --stream=xbstream``)
straight to the target over the node-to-node SSH link of the sync (``rebuild-receive``, the only
verb that writes, and only into the empty root-only folder made for this rebuild). The target
prepares the copy, swaps it in for its data directory, puts its own accounts back, and replicates
from the source from the copy's GTID. Every step is logged to the journal with its time
(``journalctl -t qmha-rebuild``). The operations are in ``operations/phases/rebuild.py``.

Example:

.. code:: python

    from operations import rebuild
    rebuild.binlog_gtid("mysql-bin.000003\\t1234\\t1-1-40,2-2-17\\n")      # "1-1-40,2-2-17"
    rebuild.send_command(copy, "10.0.0.12", 22)                             # the source's pipe
"""

from __future__ import annotations

import re
import shlex

from . import paths
from .mariadb import OS_USER, Capabilities
from .platform import PhysicalCopy

#: the journal tag of every step
TAG = "qmha-rebuild"
#: the sync user the receiving end logs in as (``operations/phases/sync.py``)
SYNC_USER = "qmsync"
#: how long (s) the rebuilt node's channel may take to catch up with the source
CATCH_UP_S = 300

_GTID_LIST = re.compile(r"^\d+-\d+-\d+(,\d+-\d+-\d+)*$")


class CopyError(ValueError):
    pass


def binlog_gtid(text: str) -> str:
    """The GTID position in a prepared copy's binary log info file (``mariadb_backup_binlog_info``:
    ``file<TAB>position<TAB>gtid-list``); CopyError when it holds none (a server without GTID,
    or not a copy's file)."""
    fields = text.strip().split("\t") if text else []
    gtid = fields[2].strip().strip("'") if len(fields) >= 3 else ""
    gtid = gtid.replace(" ", "")
    if not _GTID_LIST.match(gtid):
        raise CopyError(f"no GTID position in the copy's binary log info ({text.strip()[:120]!r})")
    return gtid


def logged(step: str, command: str) -> str:
    """COMMAND (a shell line), its end and time logged to the journal as STEP; its exit status kept
    (files it writes are root's own: umask 077)."""
    q = shlex.quote
    return (f"umask 077; t0=$(date +%s%N); logger -t {TAG} {q(step + ': started')}; {{ {command} ; }}; rc=$?; "
            f"ms=$(( ($(date +%s%N) - t0) / 1000000 )); "
            f"logger -t {TAG} \"{step}: $([ $rc -eq 0 ] && echo done || echo \"failed (exit $rc)\") in ${{ms}} ms\"; "
            f"echo \"{step}: exit $rc in ${{ms}} ms\"; exit $rc")


def folder_command(folder: str = paths.REBUILD_DIR) -> str:
    """On the target: a fresh, empty, root-only folder for the copy (whatever an earlier try left)."""
    q = shlex.quote(folder)
    return logged("folder made", f"rm -rf {q} && install -d -m 0700 -o root -g root {q}")


def send_command(copy: PhysicalCopy, target_address: str, target_port: int = 22,
                 key: str = paths.SYNC_KEY, known_hosts: str = paths.SYNC_KNOWN_HOSTS,
                 log: str = paths.REBUILD_SEND_LOG) -> str:
    """On the source, as root: a hot copy of the whole server streamed straight to the target's
    ``rebuild-receive`` over the sync link (the sync key, the target's pinned host key); the backup
    tool's own messages go to LOG, printed when it fails. The pipe fails when either end does."""
    ssh = ["ssh", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
           "-o", f"UserKnownHostsFile={known_hosts}", "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=10",
           "-p", str(int(target_port)), f"{SYNC_USER}@{target_address}", "rebuild-receive"]
    pipe = (f"{copy.backup} --backup --stream=xbstream --target-dir=/tmp 2> {shlex.quote(log)} | "
            + " ".join(shlex.quote(a) for a in ssh))
    return logged("copy streamed to " + target_address,
                  f"bash -o pipefail -c {shlex.quote(pipe)} || {{ rc=$?; tail -n 20 {shlex.quote(log)}; (exit $rc); }}")


def swap_commands(copy: PhysicalCopy, data_dir: str, db_service: str, folder: str = paths.REBUILD_DIR,
                  log: str = paths.REBUILD_PREPARE_LOG) -> list[str]:
    """On the target, after the copy arrived: prepare it, stop MariaDB, empty the data directory
    (its mount point and ``lost+found`` kept), move the copy in, give it to MariaDB's user, start."""
    f, d, log = shlex.quote(folder), shlex.quote(data_dir), shlex.quote(log)
    return [
        logged("copy prepared", f"test -n \"$(ls -A {f})\" && {{ {copy.backup} --prepare --target-dir={f} > {log} 2>&1 "
                                f"|| {{ rc=$?; tail -n 20 {log}; (exit $rc); }}; }}"),
        logged("copy swapped in",
               f"systemctl stop {db_service} && "
               f"find {d} -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -rf {{}} + && "
               f"find {f} -mindepth 1 -maxdepth 1 -exec mv -t {d} {{}} + && "
               f"chown -R {OS_USER}:{OS_USER} {d} && systemctl start {db_service}"),
    ]


def rejoin_sql(caps: Capabilities, change_master: str, gtid: str, accounts: list[str]) -> list[str]:
    """What the rebuilt node runs, in one session with the binary log off: its own accounts as the
    deploy defines them (ACCOUNTS, from the source's), then its binary log reset to the copy's GTID,
    which is also where its channel from the source (CHANGE_MASTER) starts."""
    if not caps.gtid:
        raise CopyError("a physical copy is used only where the server has GTID (10.0 and later)")
    if not _GTID_LIST.match(gtid):
        raise CopyError(f"not a GTID position: {gtid!r}")
    q = "'" + gtid + "'"
    return [*accounts, "STOP SLAVE", "RESET SLAVE ALL", "RESET MASTER",
            f"SET GLOBAL gtid_slave_pos = {q}", f"SET GLOBAL gtid_binlog_state = {q}",
            change_master, "START SLAVE"]


def caught_up_command(client: str, seconds: int = CATCH_UP_S) -> str:
    """Wait (bounded) until the channel runs both threads with nothing left to apply."""
    return logged("caught up with the source",
                  f"i=0; while [ $i -lt {int(seconds)} ]; do s=$({client} -E -e 'SHOW SLAVE STATUS' 2>&1); "
                  "echo \"$s\" | grep -q 'Slave_IO_Running: Yes' && echo \"$s\" | grep -q 'Slave_SQL_Running: Yes' && "
                  "echo \"$s\" | grep -q 'Seconds_Behind_Master: 0$' && break; i=$((i+1)); sleep 1; done; "
                  f"[ $i -lt {int(seconds)} ] || {{ echo \"$s\" | grep -E '_Running:|Seconds_Behind|Last_.*Err'; false; }}")


def done_command(folder: str = paths.REBUILD_DIR) -> str:
    """On the target: the folder removed, so nothing more can be received."""
    return logged("folder removed", f"rm -rf {shlex.quote(folder)}")


def peer_channel_from(status: dict, address: str, fqdn: str | None) -> bool:
    """Whether STATUS (a ``ReplicationStatus`` fact) holds a channel from the node at ADDRESS/FQDN."""
    ch = (status or {}).get("channel") or {}
    return bool(ch) and ch.get("master_host") in {address, fqdn} - {None}

