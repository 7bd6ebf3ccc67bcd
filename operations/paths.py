"""Every location the deploy uses: on the nodes, and on the control machine. One owner for each.

On a node the project keeps two folders of its own, both made by the base phase before any
other phase writes under them: ``ETC`` (configuration: TLS material, nginx's candidate file, the
firewall rules, the sync key) and ``STATE`` (state: SQL files, dumps, markers, the sync user's
home). On the control machine each cluster has an owner-only folder (``control_dir``) holding
its generated secrets, its TLS material and the unpacked webapp.

Example:

.. code:: python

    from operations import paths
    paths.TLS["key"]                     # "/etc/qm-ha/tls/cluster.key"
    paths.control_dir(knobs) / "tls"     # .qmha/<cluster fqdn>/tls
"""

from __future__ import annotations

from pathlib import Path

# ---------------------------------------------------------------- the project (control machine)

PROJECT = Path(__file__).resolve().parent.parent
TEMPLATES = PROJECT / "templates"
FILES = PROJECT / "files"
#: the lab's stand-in QueueMetrics webapp
STANDIN = FILES / "queuemetrics-standin"

# ---------------------------------------------------------------- on each node

ETC = "/etc/qm-ha"
STATE = "/var/lib/qm-ha"

#: TLS material, ``0640 root:qmha-tls`` for the key (each service user joins the group)
TLS_DIR = f"{ETC}/tls"
TLS = {
    "ca": f"{TLS_DIR}/ca.crt",
    "cert": f"{TLS_DIR}/cluster.crt",
    "chain": f"{TLS_DIR}/cluster-chain.crt",
    "key": f"{TLS_DIR}/cluster.key",
}
#: Tomcat's PKCS#12 keystore (the cluster certificate and key)
KEYSTORE = f"{TLS_DIR}/tomcat.p12"
#: the cluster certificate alone as a Java truststore (public): MySQL Connector/J's trust for the peer's
#: database (MariaDB Connector/J reads ``TLS["cert"]`` itself)
JDBC_TRUSTSTORE = f"{TLS_DIR}/jdbc-trust.p12"

#: nginx's candidate configuration, checked with ``nginx -t`` before it goes live
NGINX_STAGING = f"{ETC}/nginx"
#: the nftables table of the project's own (Debian)
FIREWALL_RULES = f"{ETC}/firewall.nft"

#: root-only: SQL files fed to the client on stdin, the seed dump
SQL_DIR = f"{STATE}/sql"
SEED_DUMP = f"{SQL_DIR}/seed.sql.gz"
#: which qm_db_dump was imported (its SHA-256 and name)
DUMP_MARKER = f"{STATE}/db-dump-imported"
#: root-only: the copy a re-seeded node had, kept before it is replaced
REPLACED_COPIES = f"{STATE}/replaced"
#: root-only: files holding a secret, staged before they are installed with owner and mode
SECRET_STAGING = f"{STATE}/staging"

#: the configuration sync: the unprivileged user's home, its poke file and the kept copies
SYNC_HOME = f"{STATE}/sync"
SYNC_POKE = f"{SYNC_HOME}/poke"
SYNC_BACKUPS = f"{SYNC_HOME}/backups"
#: root-only: this node's sync key pair and the peer's pinned host key
SYNC_CONF = f"{ETC}/sync"
SYNC_KEY = f"{SYNC_CONF}/id_ed25519"
SYNC_KNOWN_HOSTS = f"{SYNC_CONF}/known_hosts"
SYNC_SCRIPT = "/usr/local/sbin/qmha-sync"
SYNC_LIB = "/usr/local/lib/qm-ha"
SYNC_SERVE = f"{SYNC_LIB}/sync-serve"
SSH_HOST_KEY = "/etc/ssh/ssh_host_ed25519_key.pub"
#: rebuilding a node from its peer: the root-only 0700 folder the peer's physical copy is streamed into
#: (made for one rebuild, removed after it), the root script the sync user may run through sudo to
#: receive it (``rebuild-receive``), that one sudo rule, and the source's backup tool's log
REBUILD_DIR = f"{STATE}/rebuild"
REBUILD_RECEIVE = "/usr/local/sbin/qmha-rebuild-receive"
REBUILD_SUDOERS = "/etc/sudoers.d/qmha-rebuild"
REBUILD_SEND_LOG = f"{STATE}/rebuild-send.log"
REBUILD_PREPARE_LOG = f"{STATE}/rebuild-prepare.log"

#: the webapp's context path: https://<fqdn>/queuemetrics/
CONTEXT = "queuemetrics"
#: root-only: the files of the last WAR deployed (what a new WAR may remove; never what the webapp wrote)
WAR_MANIFEST = f"{STATE}/war-files"
#: a new WAR staged beside the running one (war mode's rolling upgrade): its files, their list, and
#: its identity (the WAR's SHA-256), written last, so a half-staged folder is never taken for whole
WEBAPP_NEXT = f"{STATE}/webapp-next"
WEBAPP_NEXT_FILES = f"{STATE}/webapp-next.files"
WEBAPP_NEXT_ID = f"{STATE}/webapp-next.id"
#: the identity of the WAR this node's Tomcat runs (written once it answers QMUP)
WAR_RUNNING = f"{STATE}/war-running"
#: held by a swap from start to end: a second swap (a later run, while an interrupted one's commands
#: still run on the node) waits for it
WAR_SWAP_LOCK = f"{STATE}/war-swap.lock"
#: which converted configuration.properties was put on the node (its SHA-256 and name)
PROPERTIES_MARKER = f"{STATE}/properties-imported"
#: the nightly backup's script, and the line it leaves about its last run (time, ok/failed, file or why)
BACKUP_SCRIPT = "/usr/local/sbin/qmha-backup"
DB_WATCHDOG_SCRIPT = "/usr/local/sbin/qmha-db-watchdog"
#: present while the watchdog keeps MariaDB stopped for want of space (cleared at boot)
DB_STOPPED_FOR_SPACE = "/run/qmha-db-watchdog.stopped-for-space"
BACKUP_LAST = f"{STATE}/backup-last"
#: configuration.properties' mode: QueueMetrics (its Tomcat's user) saves it, the sync user's group reads it
PROPERTIES_MODE = "640"


def webapp_dir(webapps_dir: str) -> str:
    """The QueueMetrics webapp under a Tomcat's appBase."""
    return f"{webapps_dir}/{CONTEXT}"


def default_properties(webapps_dir: str) -> str:
    """Where QueueMetrics keeps ``configuration.properties`` under a Tomcat's appBase."""
    return f"{webapp_dir(webapps_dir)}/WEB-INF/configuration.properties"


# ---------------------------------------------------------------- on the control machine


def control_dir(state_dir: str | None, cluster_fqdn: str, create: bool = True) -> Path:
    """The cluster's owner-only folder on the control machine: ``qm_local_state_dir`` when set,
    else ``.qmha/<cluster fqdn>/`` in the project (git-ignored). Made owner-only on first use.

    .. code:: python

        control_dir(knobs.qm_local_state_dir, knobs.qm_cluster_fqdn)
    """
    path = Path(state_dir).expanduser().resolve() if state_dir else PROJECT / ".qmha" / str(cluster_fqdn)
    if create:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.chmod(0o700)
    return path


def control_secrets(control: Path) -> Path:
    return control / "secrets.json"


def control_tls(control: Path) -> Path:
    """Generated CA and certificate (or nothing, with a customer's certificate), and the keystore."""
    return control / "tls"


def control_ca(control: Path, customer_ca: str | None = None) -> Path:
    """The CA a client trusts for the cluster: the customer's ``qm_tls_ca``, else the generated one."""
    return Path(customer_ca) if customer_ca else control_tls(control) / "ca.crt"


def control_webapp(control: Path, host_name: str) -> Path:
    """Where the customer's WAR is unpacked for HOST_NAME before it is synced to the node."""
    return control / "webapp" / host_name

# floating addresses (keepalived)
KEEPALIVED_CONF = "/etc/keepalived/keepalived.conf"
WEB_CHECK_SCRIPT = "/usr/local/sbin/qmha-web-check"
