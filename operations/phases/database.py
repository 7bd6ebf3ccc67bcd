"""Database phase: the distribution's MariaDB on each node, configured for master-master, with
root secured, the QueueMetrics database and the accounts the app and replication use.

Decisions, per node:

- ``server_id``, ``gtid_domain_id`` and ``auto_increment_offset`` are the node's position in the
  inventory (node A 1, node B 2) with ``auto_increment_increment=2``: both nodes take writes
  without key clashes.
- Semi-synchronous replication both ways on request (``qm_db_semi_sync``, where the server has
  it: 10.3+): a commit returns once the peer's relay log holds it (``AFTER_SYNC``), so a node that
  dies right after acknowledging a write has already handed it on; a silent peer costs one
  ``qm_db_semi_sync_timeout_ms`` and the node goes on asynchronously until the peer is back. Off by
  default: in this two-node ring, MariaDB 10.11 hung in the lab after a silent partition (preflight
  warns when it is asked for). ``sync_binlog=1`` and ``innodb_flush_log_at_trx_commit=1`` keep an
  acknowledged commit on disk either way.
- A MariaDB that can no longer serve is taken out of service, so the app's connections go to the
  peer at once instead of waiting out their own timeouts (``qmha-db-watchdog.service``, one script
  for both): a running server that answers no ping for ``qm_db_watchdog_s`` seconds (hung: its port
  still accepts connections) is killed and systemd starts it again (a drop-in makes every platform's
  unit restart after an abnormal end); one with fewer than ``qm_db_min_free_mb`` MiB free where it
  keeps its data (a commit would wait for space for ever) is killed and kept stopped until twice that
  is free, then started. A server that answers at all, one starting or stopping, and one someone
  else stopped are left alone.
- Channels hear from their peer every second and give a silent link up after 3 s, so a partition
  heals within seconds of the link coming back (``mariadb.HEARTBEAT_S``, ``NET_TIMEOUT_S``).
- The server version picks the features (``mariadb.capabilities``): GTID from 10.0, several
  listen addresses from 10.11 (127.0.0.1 and the node address; an older server listens on all
  addresses and relies on its accounts, which name only local and peer hosts), certificate
  name checks of the peer from 10.2. Before the server is installed, the version the platform's
  package installs stands in.
- Every account is node-local (``SET sql_log_bin=0``): each node has its own app accounts
  (``localhost``, ``127.0.0.1``, the peer's address), and for the peer's address only a replication
  account and a seed account (read-only: the peer, when it is seeded, dumps this node's database
  with its position straight over TLS, node to node); every account the peer logs in with is ``REQUIRE SSL`` (cross-node traffic is
  encrypted), the local ones ``REQUIRE NONE``. Nothing the phase creates replicates, so the peer's SQL thread
  never meets a ``CREATE USER`` for an account it already has (error 1396).
- Passwords never appear in a command line or in pyinfra's output: SQL is uploaded to a root-only
  directory and fed to the client on stdin; accounts are granted with the password *hash*
  (``IDENTIFIED BY PASSWORD``), computed here; root logs in over the unix socket (Debian) or with
  an owner-only ``/root/.my.cnf`` (EL7).
- Privileges are read from ``mysql.user``/``mysql.db`` columns, not from ``SHOW GRANTS`` text, so
  MariaDB >= 10.5 naming ``REPLICATION CLIENT`` as ``BINLOG MONITOR`` does not cause a re-grant.

Example:

.. code:: python

    from operations.phases import database
    database.configure(run, tls_files)  # in deploy.py, after tls_files = tls.configure(run)
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import StringCommand, deploy, operation
from pyinfra.operations import systemd
from pyinfra.operations.util import any_changed

from .. import managed, paths
from ..context import Run
from ..facts.mariadb import DatabaseAccounts, MariadbServer
from ..facts.system import LocalUser
from ..mariadb import (NET_TIMEOUT_S, OS_USER, PORT, Capabilities, account_statements, capabilities, desired_accounts,
                       native_password_hash, root_statements, run_sql)
from ..platform import Platform, install_packages
from ..render import config_file, render
from ..secret_files import secret_file
from ..prefetch import node_fact
from . import rebuild
from .tls import GROUP


WATCHDOG = "qmha-db-watchdog.service"
#: seconds systemd waits before starting a crashed (or killed) MariaDB again
RESTART_S = 2
#: seconds one ping of the watchdog may take (a healthy server answers in milliseconds)
PING_TIMEOUT_S = 1


def watchdog_values(platform: Platform, silent_s: int, min_free_mb: int) -> dict:
    """What templates/mariadb/qmha-db-watchdog.sh.j2 needs: kill after SILENT_S unanswered seconds
    (pings in a row, each allowed ``PING_TIMEOUT_S``; 0: never), stop below MIN_FREE_MB MiB free and
    start again at twice that (0: never)."""
    return {"db_service": platform.db_service, "db_admin": platform.db_admin, "data_dir": platform.db_data_dir,
            "ping_timeout_s": PING_TIMEOUT_S, "misses": -(-int(silent_s) // PING_TIMEOUT_S),
            "min_free_mb": int(min_free_mb), "resume_free_mb": 2 * int(min_free_mb),
            "stopped_flag": paths.DB_STOPPED_FOR_SPACE}


def server_settings(node_index: int, address: str, caps: Capabilities, expire_logs_days: int = 7,
                    semi_sync_timeout_ms: int | None = None) -> dict:
    """The values templates/mariadb/60-qmha.cnf.j2 needs for node NODE_INDEX (0 for A, 1 for B);
    SEMI_SYNC_TIMEOUT_MS: semi-synchronous both ways with this timeout, where the server has it
    (None: asynchronous)."""
    if caps.multi_bind:
        bind, comment = f"127.0.0.1,{address}", "listen on localhost and this node's address only"
    else:
        bind, comment = ("0.0.0.0", "this server listens on one address or all: all, and only local and "
                         "peer accounts exist (keep 3306 closed to others in the firewall)")
    return {
        "server_id": node_index + 1,
        "bind_address": bind,
        "bind_comment": comment,
        "port": PORT,
        "gtid": caps.gtid,
        "expire_logs_days": int(expire_logs_days),
        "net_timeout": NET_TIMEOUT_S,
        "semi_sync_timeout_ms": int(semi_sync_timeout_ms) if caps.semi_sync and semi_sync_timeout_ms else None,
        "tls_ca": paths.TLS["ca"],
        "tls_cert": paths.TLS["chain"],
        "tls_key": paths.TLS["key"],
    }


@operation()
def root_secured(platform: Platform, root_password: str):
    """Root as the platform wants it (see ``mariadb.root_statements``); on password platforms the
    root password is ROOT_PASSWORD (the cluster secret), kept for root in /root/.my.cnf."""
    state = node_fact(host, DatabaseAccounts, database="mysql", client=platform.db_client)
    statements = root_statements(state, platform, native_password_hash(root_password))
    if statements:
        yield from run_sql(statements, platform.db_client, "root")


@operation()
def accounts(platform: Platform, database: str, app_user: str, app_password: str, repl_password: str,
             seed_password: str, peer_address: str, charset: str = "utf8"):
    """DATABASE and the node-local accounts: APP_USER for localhost, 127.0.0.1 and the peer,
    the replication and seed accounts for the peer only; the peer's accounts REQUIRE SSL. No
    command when all are in place."""
    desired = desired_accounts(app_user, app_password, repl_password, seed_password, peer_address)
    state = node_fact(host, DatabaseAccounts, database=database, client=platform.db_client)
    statements = account_statements(state, desired, database, charset)
    if statements:
        yield from run_sql(statements, platform.db_client, "accounts")


@operation()
def user_in_group(user: str, group: str):
    """Add USER (made by a package earlier in this run) to GROUP; nothing when already a member."""
    if group in (node_fact(host, LocalUser, user=user) or {}).get("groups", []):
        return
    yield StringCommand(f"usermod -a -G {group} {user}")


def watchdog(run: Run) -> None:
    """MariaDB restarted after an abnormal end; killed when it hangs (``qm_db_watchdog_s``), kept
    stopped while its disk is full (``qm_db_min_free_mb``); both 0: the watchdog off. The watchdog
    restarts only when its script or unit changed."""
    p, k = run.platform, run.knobs
    drop_in = config_file("mariadb/restart.conf.j2", f"/etc/systemd/system/{p.db_service}.service.d/qmha-restart.conf",
                          {"restart_s": RESTART_S}, name=f"{p.db_service} starts again after a crash",
                          user="root", group="root", mode="0644")
    script = config_file("mariadb/qmha-db-watchdog.sh.j2", paths.DB_WATCHDOG_SCRIPT,
                         watchdog_values(p, k.qm_db_watchdog_s, k.qm_db_min_free_mb),
                         name=paths.DB_WATCHDOG_SCRIPT, user="root", group="root", mode="0700",
                         create_remote_dir=False)
    unit = config_file("mariadb/qmha-db-watchdog.service.j2", f"/etc/systemd/system/{WATCHDOG}",
                       {"script": paths.DB_WATCHDOG_SCRIPT, "db_service": p.db_service}, name=WATCHDOG,
                       user="root", group="root", mode="0644", create_remote_dir=False)
    systemd.daemon_reload(name="systemd reads the database units", _if=any_changed(drop_in, unit))
    on = k.qm_db_watchdog_s > 0 or k.qm_db_min_free_mb > 0
    if on:
        managed.systemctl(name=f"{WATCHDOG} restarted after a change", service=WATCHDOG, command="restart",
                          _if=any_changed(script, unit))
    managed.service(name=f"{WATCHDOG} {'running' if on else 'off'}", service=WATCHDOG, running=on, enabled=on)


@deploy("Database (MariaDB)")
def configure(run: Run, tls_files: list = ()):
    """Install, configure and start MariaDB; secure root; create the database and its accounts.
    MariaDB restarts (one node at a time) when its settings or the TLS files (TLS_FILES, the
    operations of ``tls.configure``) change: it reads its certificate only when it starts."""
    p, k, secrets = run.platform, run.knobs, run.secrets
    caps = capabilities(node_fact(host, MariadbServer, client=p.db_client), p)

    copy_tools = p.db_physical_copy.packages if p.db_physical_copy else ()
    installed = install_packages(p, (*p.db_packages, *copy_tools), name="MariaDB packages")
    in_group = user_in_group(name=f"{OS_USER} may read the TLS key", user=OS_USER, group=GROUP)
    managed.directory(name=paths.SQL_DIR, path=paths.SQL_DIR, user="root", group="root", mode="0700")
    config = config_file(
        "mariadb/60-qmha.cnf.j2", f"{p.db_config_dir}/60-qmha.cnf",
        server_settings(run.index, run.me.address, caps, k.qm_db_expire_logs_days,
                        k.qm_db_semi_sync_timeout_ms if k.qm_db_semi_sync else None),
        name="MariaDB replication and network settings",
        user="root", group="root", mode="0644", create_remote_dir=False,  # the package's
    )
    sockets_off = [
        managed.service(name=f"{unit} off (it would listen on every address)", service=unit,
                        running=False, enabled=False)
        for unit in p.db_socket_units
    ]
    # one node at a time: the app always has a database to fail over to
    managed.systemctl(name="Restart MariaDB after a change", service=p.db_service, command="try-restart",
                      _if=any_changed(installed, in_group, config, *sockets_off, *tls_files), _serial=True)
    managed.service(name="MariaDB enabled and running", service=p.db_service, running=True, enabled=True)
    watchdog(run)

    root_secured(name="MariaDB root secured", platform=p, root_password=secrets["db_root_password"])
    if p.db_root_auth == "password":
        root_password = secrets["db_root_password"]
        secret_file(name="/root/.my.cnf (root's login)", path="/root/.my.cnf",
                    content=render("mariadb/root-my.cnf.j2", password=root_password), secrets=[root_password])
    accounts(name="QueueMetrics database and accounts", platform=p, database=k.qm_db_name,
             app_user=k.qm_db_app_user, app_password=secrets["db_app_password"],
             repl_password=secrets["db_replication_password"], seed_password=secrets["db_seed_password"],
             peer_address=run.peer.address,
             charset=k.qm_db_charset)
    rebuild.configure(run)  # a node rebuilt from its peer (--data qm_db_resync=...): nothing otherwise
