"""MariaDB as the deploy uses it: capabilities by version, SQL text, password hashes, accounts,
and the commands that feed SQL or take a dump without a password or a statement on a command line.

Shared by the database and replication phases, the drill and the tests; decides, runs nothing.

Example:

.. code:: python

    from operations import mariadb
    caps = mariadb.capabilities(server_fact, platform)
    caps.gtid                                            # True from 10.0
    mariadb.native_password_hash("secret")               # "*14E65567ABDB5135D0CFD9A70B3032C179A49EE7"
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from pyinfra.api import FileUploadCommand, StringCommand

from .paths import SQL_DIR
from .platform import Platform

#: the port every MariaDB of the cluster listens on (the firewall opens it to the peer only)
PORT = 3306
#: the account each node's channel logs in to its peer with
REPLICATION_USER = "qmha_repl"
#: the account a node being seeded dumps its peer's database with (over TLS, from the peer's address only)
SEED_USER = "qmha_seed"
#: what each account kind may do beyond the database ("app": all on the database, in ``db_grants``):
#: the privileges as GRANT names them, and the ``mysql.user`` columns that show them
GLOBAL_GRANTS = {
    "replication": ("REPLICATION SLAVE, REPLICATION CLIENT", {"Repl_slave_priv", "Repl_client_priv"}),
    "seed": ("SELECT, RELOAD, LOCK TABLES, SHOW VIEW, TRIGGER, EVENT, REPLICATION CLIENT",
             {"Select_priv", "Reload_priv", "Lock_tables_priv", "Show_view_priv", "Trigger_priv", "Event_priv",
              "Repl_client_priv"}),
}
#: a channel's timing: it hears from its peer every HEARTBEAT_S when idle, takes NET_TIMEOUT_S of
#: silence as a lost link, and tries to reconnect every CONNECT_RETRY_S (a partition heals within
#: seconds of the link coming back, not a minute); a sender whose write the peer has not taken for
#: NET_TIMEOUT_S gives up too (net_write_timeout)
HEARTBEAT_S = 1
NET_TIMEOUT_S = 3
CONNECT_RETRY_S = 1
#: the binary and relay logs' files in the data directory (``templates/mariadb/60-qmha.cnf.j2``): a
#: physical copy leaves them out
LOG_FILES = ("mysql-bin.*", "relay-bin.*")
#: the OS user mariadbd runs as (it joins the TLS group to read the key)
OS_USER = "mysql"


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
    def semi_sync(self) -> bool:
        """Semi-synchronous replication built into the server (10.3; 5.5 has none)."""
        return self.version >= (10, 3)

    @property
    def mode(self) -> str:
        return "gtid" if self.gtid else "file"


def capabilities(server_fact: dict | None, platform: Platform) -> Capabilities:
    """From the installed server's version, else the version the platform's package installs."""
    version = (server_fact or {}).get("major_minor") or platform.db_packaged_version
    return Capabilities(tuple(version))


def password_sha256(password: str) -> str:
    """What the ``ChannelPassword`` fact reads for a channel logging in with PASSWORD."""
    return hashlib.sha256(password.encode()).hexdigest()


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


@dataclass(frozen=True)
class DesiredAccount:
    user: str
    host: str
    password_hash: str
    kind: str  # "app" (all on the database), or a kind of GLOBAL_GRANTS
    tls: bool = True  # REQUIRE SSL: every account the peer logs in with (cross-node traffic is encrypted)


def desired_accounts(app_user: str, app_password: str, repl_password: str, seed_password: str,
                     peer_address: str) -> list[DesiredAccount]:
    """The accounts each node holds: the app's (local, and the peer's over TLS), and for the peer only
    the replication account and the seed account (the peer dumps this node's database when it is
    seeded from it)."""
    app_hash = native_password_hash(app_password)
    return [
        *(DesiredAccount(app_user, h, app_hash, "app", tls=False) for h in ("localhost", "127.0.0.1")),
        DesiredAccount(app_user, peer_address, app_hash, "app"),
        DesiredAccount(REPLICATION_USER, peer_address, native_password_hash(repl_password), "replication"),
        DesiredAccount(SEED_USER, peer_address, native_password_hash(seed_password), "seed"),
    ]


def account_current(row: dict | None, grants: dict, want: DesiredAccount) -> bool:
    """Whether ROW (a ``DatabaseAccounts`` user, None: missing) is the account WANT, with its
    password and privileges (GRANTS: ``DatabaseAccounts``' db_grants)."""
    if row is None or row["password"] != want.password_hash or (row["ssl_type"] == "ANY") != want.tls:
        return False
    if want.kind == "app":
        return grants.get((want.user, want.host), {}).get("all", False)
    return GLOBAL_GRANTS[want.kind][1] <= set(row.get("global", ()))


def replication_account_current(state: dict, peer_address: str, password_hash: str) -> bool | None:
    """Whether STATE (``DatabaseAccounts``) holds the replication account for PEER_ADDRESS as the
    cluster wants it (PASSWORD_HASH, privileges, REQUIRE SSL); None when the server did not answer."""
    if not state or not state.get("running"):
        return None
    want = DesiredAccount(REPLICATION_USER, peer_address, password_hash, "replication")
    row = next((u for u in state["users"] if (u["user"], u["host"]) == (want.user, want.host)), None)
    return account_current(row, state.get("db_grants", {}), want)


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
        what = f"ALL PRIVILEGES ON {sql_ident(database)}.*" if want.kind == "app" \
            else f"{GLOBAL_GRANTS[want.kind][0]} ON *.*"
        sql = (f"GRANT {what} TO {account(want.user, want.host)} IDENTIFIED BY PASSWORD "
               f"{sql_string(want.password_hash)} REQUIRE {'SSL' if want.tls else 'NONE'}")
        if not (known and account_current(users.get((want.user, want.host)), grants, want)):
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


def dump_to(platform: Platform, database: str, plain: str, position: str = "", drop: str = "",
            connect: str = "") -> str:
    """A consistent dump of DATABASE into the file PLAIN, then gzipped (PLAIN.gz). No pipe: a failed
    dump fails the command, whatever the shell. POSITION and DROP are extra dump options; CONNECT the
    options that reach another server (first: an option file must lead)."""
    return (f"{platform.db_dump}{connect} --single-transaction{position} --routines --triggers --events{drop} "
            f"--databases {database} --result-file={plain} && gzip -1 {plain}")


def client_options(user: str, password: str) -> str:
    """A client option file's text that logs USER in with PASSWORD (upload it root-only: it is how a
    password reaches a client without a command line)."""
    quoted = password.replace("\\", "\\\\").replace('"', '\\"')
    return f'[client]\nuser = {user}\npassword = "{quoted}"\n'
