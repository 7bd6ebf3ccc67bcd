"""Database phase: the distribution's MariaDB on each node, configured for master-master, with
root secured, the QueueMetrics database and the accounts the app and replication use.

Decisions, per node:

- ``server_id``, ``gtid_domain_id`` and ``auto_increment_offset`` are the node's position in the
  inventory (node A 1, node B 2) with ``auto_increment_increment=2``: both nodes take writes
  without key clashes.
- The server version picks the features (``capabilities``): GTID from 10.0, several listen
  addresses from 10.11 (127.0.0.1 and the node address; an older server listens on all
  addresses and relies on its accounts, which name only local and peer hosts), certificate
  name checks of the peer from 10.2. Before the server is installed, the version the platform's
  package installs stands in.
- Every account is node-local (``SET sql_log_bin=0``): each node has its own app accounts
  (``localhost``, ``127.0.0.1``, the peer's address) and a replication account for the peer's
  address only, ``REQUIRE SSL``. Nothing the phase creates replicates, so the peer's SQL thread
  never meets a ``CREATE USER`` for an account it already has (error 1396).
- Passwords never appear in a command line or in pyinfra's output: SQL is uploaded to a root-only
  directory and fed to the client on stdin; accounts are granted with the password *hash*
  (``IDENTIFIED BY PASSWORD``), computed here; root logs in over the unix socket (Debian) or with
  an owner-only ``/root/.my.cnf`` (EL7).
- Privileges are read from ``mysql.user``/``mysql.db`` columns, not from ``SHOW GRANTS`` text, so
  MariaDB >= 10.5 naming ``REPLICATION CLIENT`` as ``BINLOG MONITOR`` does not cause a re-grant.

Example:

.. code:: python

    from operations import database
    database.configure(tls_files)  # in deploy.py, after tls_files = tls.install()
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Template
from pyinfra import host
from pyinfra.api import FileUploadCommand, StringCommand, deploy, operation
from pyinfra.facts.server import Users
from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from . import cluster, local, tls
from .facts import DatabaseAccounts, MariadbServer
from .base import current_platform
from .platform import Platform, install_packages
from .secret_files import secret_file

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
#: root-only directory on the node for SQL files, dumps and markers
STATE_DIR = "/var/lib/qm-ha"
SQL_DIR = f"{STATE_DIR}/sql"
REPLICATION_USER = "qmha_repl"
DB_OS_USER = "mysql"


# ---------------------------------------------------------------- decisions (pure)


@dataclass(frozen=True)
class Capabilities:
    version: tuple[int, int]

    @property
    def gtid(self) -> bool:
        return self.version >= (10, 0)

    @property
    def multi_bind(self) -> bool:
        return self.version >= (10, 11)

    @property
    def verify_peer_name(self) -> bool:
        """The client checks the peer certificate's subjectAltNames (5.5 looks at the CN only)."""
        return self.version >= (10, 2)

    @property
    def mode(self) -> str:
        return "gtid" if self.gtid else "file"


def capabilities(server_fact: dict | None, platform: Platform) -> Capabilities:
    """From the installed server's version, else the version the platform's package installs."""
    version = (server_fact or {}).get("major_minor") or platform.db_packaged_version
    return Capabilities(tuple(version))


def native_password_hash(password: str) -> str:
    """MariaDB's ``mysql_native_password`` hash: ``*`` + upper-case hex SHA1(SHA1(password))."""
    return "*" + hashlib.sha1(hashlib.sha1(password.encode()).digest()).hexdigest().upper()


def sql_string(value: str) -> str:
    """A single-quoted SQL literal."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def sql_ident(value: str) -> str:
    return "`" + str(value).replace("`", "``") + "`"


def account(user: str, host_: str) -> str:
    return f"{sql_string(user)}@{sql_string(host_)}"


def server_settings(node_index: int, address: str, caps: Capabilities, expire_logs_days: int = 7) -> dict:
    """The values templates/mariadb/60-qmha.cnf.j2 needs for node NODE_INDEX (0 for A, 1 for B)."""
    if caps.multi_bind:
        bind, comment = f"127.0.0.1,{address}", "listen on localhost and this node's address only"
    else:
        bind, comment = ("0.0.0.0", "this server listens on one address or all: all, and only local and "
                         "peer accounts exist (keep 3306 closed to others in the firewall)")
    return {
        "server_id": node_index + 1,
        "bind_address": bind,
        "bind_comment": comment,
        "gtid": caps.gtid,
        "expire_logs_days": int(expire_logs_days),
        "tls_ca": tls.NODE_PATHS["ca"],
        "tls_cert": tls.NODE_PATHS["chain"],
        "tls_key": tls.NODE_PATHS["key"],
    }


@dataclass(frozen=True)
class DesiredAccount:
    user: str
    host: str
    password_hash: str
    kind: str  # "app" (all on the database) or "replication" (REPLICATION SLAVE+CLIENT, REQUIRE SSL)


def desired_accounts(app_user: str, app_password: str, repl_password: str, peer_address: str) -> list[DesiredAccount]:
    app_hash = native_password_hash(app_password)
    return [
        *(DesiredAccount(app_user, h, app_hash, "app") for h in ("localhost", "127.0.0.1", peer_address)),
        DesiredAccount(REPLICATION_USER, peer_address, native_password_hash(repl_password), "replication"),
    ]


def account_statements(state: dict, desired: list[DesiredAccount], database: str, charset: str) -> list[str]:
    """SQL that brings DATABASE and the managed accounts from STATE (a DatabaseAccounts fact) to DESIRED.

    An empty list when nothing differs. When STATE is unknown (server not running when facts were
    read: a first run), every statement is emitted; each is safe on a fresh server.
    """
    known = bool(state and state.get("running"))
    statements = []
    if not known or database not in state["databases"]:
        statements.append(f"CREATE DATABASE IF NOT EXISTS {sql_ident(database)} DEFAULT CHARACTER SET {charset}")
    users = {(u["user"], u["host"]): u for u in (state or {}).get("users", [])}
    grants = (state or {}).get("db_grants", {})
    for want in desired:
        row = users.get((want.user, want.host))
        if want.kind == "app":
            ok = row is not None and row["password"] == want.password_hash and \
                grants.get((want.user, want.host), {}).get("all", False)
            sql = (f"GRANT ALL PRIVILEGES ON {sql_ident(database)}.* TO {account(want.user, want.host)} "
                   f"IDENTIFIED BY PASSWORD {sql_string(want.password_hash)}")
        else:
            ok = row is not None and row["password"] == want.password_hash and row["repl_slave"] and \
                row["repl_client"] and row["ssl_type"] == "ANY"
            sql = (f"GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO {account(want.user, want.host)} "
                   f"IDENTIFIED BY PASSWORD {sql_string(want.password_hash)} REQUIRE SSL")
        if not (known and ok):
            statements.append(sql)
    managed = {w.user for w in desired}
    wanted = {(w.user, w.host) for w in desired}
    for key in sorted(users):
        if key[0] in managed and key not in wanted:
            statements.append(f"DROP USER {account(*key)}")
    return statements


def root_statements(state: dict, platform: Platform, root_hash: str) -> list[str]:
    """SQL that secures root as the platform wants it: no anonymous accounts, no test database, and
    (password platforms) root only on localhost with the cluster's root password."""
    known = bool(state and state.get("running"))
    if not known:
        if platform.db_root_auth != "password":
            return []  # Debian's package makes root socket-only, with no anonymous account or test database
        return [
            "DELETE FROM mysql.user WHERE User = ''",
            "DELETE FROM mysql.user WHERE User = 'root' AND Host NOT IN ('localhost', '127.0.0.1', '::1')",
            "DELETE FROM mysql.db WHERE Db = 'test' OR Db = 'test\\\\_%'",
            "DROP DATABASE IF EXISTS test",
            f"UPDATE mysql.user SET Password = {sql_string(root_hash)} WHERE User = 'root'",
            "FLUSH PRIVILEGES",
        ]
    statements = []
    for u in state["users"]:
        if u["user"] == "":
            statements.append(f"DROP USER {account('', u['host'])}")
        elif u["user"] == "root" and platform.db_root_auth == "password":
            if u["host"] not in ("localhost", "127.0.0.1", "::1"):
                statements.append(f"DROP USER {account('root', u['host'])}")
            elif u["password"] != root_hash:
                statements.append(f"SET PASSWORD FOR {account('root', u['host'])} = {sql_string(root_hash)}")
    if "test" in state["databases"]:
        statements.append("DROP DATABASE test")
    return statements


# ---------------------------------------------------------------- commands


def sql_text(statements: list[str]) -> str:
    """STATEMENTS as a node-local script: nothing in it reaches the binary log or the peer."""
    return "SET SESSION sql_log_bin = 0;\n" + "".join(f"{s};\n" for s in statements)


def sql_upload(statements: list[str], name: str) -> tuple[FileUploadCommand, str]:
    """The upload of STATEMENTS to the root-only SQL_DIR, and the path it lands at."""
    path = f"{SQL_DIR}/{name}.sql"
    return FileUploadCommand(io.BytesIO(sql_text(statements).encode()), path), path


def run_sql(statements: list[str], client: str, name: str):
    """Commands that run STATEMENTS as root without their text in any command line: the SQL is
    uploaded to the root-only SQL_DIR, fed to the client on stdin, then removed."""
    upload, path = sql_upload(statements, name)
    yield upload
    yield StringCommand(f"{client} < {path}; rc=$?; rm -f {path}; exit $rc")


def render(template: str, **values) -> str:
    return Template((TEMPLATES / template).read_text(), keep_trailing_newline=True).render(**values)


@operation()
def root_secured(platform: Platform):
    """Root as the platform wants it (see ``root_statements``); on password platforms the root
    password is the cluster secret ``db_root_password``, kept for root in /root/.my.cnf."""
    password = local.secrets(["db_root_password"])["db_root_password"]
    state = host.get_fact(DatabaseAccounts, database="mysql", client=platform.db_client)
    statements = root_statements(state, platform, native_password_hash(password))
    if statements:
        yield from run_sql(statements, platform.db_client, "root")


@operation()
def accounts(platform: Platform, database: str, app_user: str, peer_address: str, charset: str = "utf8"):
    """DATABASE and the node-local accounts: APP_USER for localhost, 127.0.0.1 and the peer,
    the replication account for the peer only (REQUIRE SSL). No command when all are in place."""
    secret = local.secrets(["db_app_password", "db_replication_password"])
    desired = desired_accounts(app_user, secret["db_app_password"], secret["db_replication_password"], peer_address)
    state = host.get_fact(DatabaseAccounts, database=database, client=platform.db_client)
    statements = account_statements(state, desired, database, charset)
    if statements:
        yield from run_sql(statements, platform.db_client, "accounts")


@operation()
def user_in_group(user: str, group: str):
    """Add USER (made by a package earlier in this run) to GROUP; nothing when already a member."""
    users = host.get_fact(Users)
    if group in (users.get(user) or {}).get("groups", []):
        return
    yield StringCommand(f"usermod -a -G {group} {user}")


# ---------------------------------------------------------------- the phase


@deploy("Database (MariaDB)")
def configure(tls_files: list = ()):
    """Install, configure and start MariaDB; secure root; create the database and its accounts.
    MariaDB restarts (one node at a time) when its settings or the TLS files (TLS_FILES, the
    operations of ``tls.install``) change: it reads its certificate only when it starts."""
    p = current_platform()
    c = cluster.current()
    index = c.nodes.index(c.me)
    caps = capabilities(host.get_fact(MariadbServer, client=p.db_client), p)

    installed = install_packages(p, p.db_packages, name="MariaDB packages")
    in_group = user_in_group(name=f"{DB_OS_USER} may read the TLS key", user=DB_OS_USER, group=tls.GROUP)
    # the project's state on the node; its subfolders hold their own permissions (sql/: root only,
    # sync/: the sync user's home, which sshd must be able to enter)
    files.directory(name=STATE_DIR, path=STATE_DIR, user="root", group="root", mode="0755")
    files.directory(name=SQL_DIR, path=SQL_DIR, user="root", group="root", mode="0700")
    config = files.template(
        name="MariaDB replication and network settings",
        src=str(TEMPLATES / "mariadb/60-qmha.cnf.j2"),
        dest=f"{p.db_config_dir}/60-qmha.cnf",
        user="root", group="root", mode="0644", create_remote_dir=False,  # the package's
        **server_settings(index, c.me.address, caps, host.data.get("qm_db_expire_logs_days") or 7),
    )
    sockets_off = [
        systemd.service(name=f"{unit} off (it would listen on every address)", service=unit,
                        running=False, enabled=False)
        for unit in p.db_socket_units
    ]
    # one node at a time: the app always has a database to fail over to
    systemd.service(name="Restart MariaDB after a change", service=p.db_service, restarted=True,
                    _if=any_changed(installed, in_group, config, *sockets_off, *tls_files), _serial=True)
    systemd.service(name="MariaDB enabled and running", service=p.db_service, running=True, enabled=True)

    root_secured(name="MariaDB root secured", platform=p)
    if p.db_root_auth == "password":
        root_password = local.secrets(["db_root_password"])["db_root_password"]
        secret_file(name="/root/.my.cnf (root's login)", path="/root/.my.cnf",
                    content=render("mariadb/root-my.cnf.j2", password=root_password), secrets=[root_password])
    accounts(name="QueueMetrics database and accounts", platform=p,
             database=host.data.get("qm_db_name") or "queuemetrics",
             app_user=host.data.get("qm_db_app_user") or "queuemetrics",
             peer_address=c.peer.address,
             charset=host.data.get("qm_db_charset") or "utf8")
