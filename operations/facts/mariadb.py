"""Facts of the node's MariaDB: the server, its replication state, its accounts, the channel's password.

Every one runs the client as root on the node: over the unix socket (Debian's root authenticates
by socket) or with /root/.my.cnf (EL7's MariaDB 5.5, root with a password). None of them puts a
password on a command line. ``client`` is the platform's client name (``mysql`` on EL7,
``mariadb`` on Debian 12); the default finds whichever is installed.

Example:

.. code:: python

    from operations.facts.mariadb import ReplicationStatus
    host.get_fact(ReplicationStatus, client="mariadb")["channel"]["io_running"]   # "Yes"
"""

from __future__ import annotations

import re

from pyinfra.api import FactBase

from .system import split_sections

DEFAULT_CLIENT = "$(command -v mariadb || command -v mysql || echo mysql)"


def _sql(client: str, options: str, sql: str) -> str:
    """A shell fragment running SQL (no quotes inside) with the client; stderr dropped."""
    return f"{client} {options} -e \"{sql}\" 2>/dev/null"


def parse_version(text: str) -> tuple[int, int] | None:
    """``"10.11.6-MariaDB-0+deb12u1"`` -> ``(10, 11)``; ``"5.5.68-MariaDB"`` -> ``(5, 5)``."""
    match = re.search(r"(\d+)\.(\d+)\.\d+", text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


class MariadbServer(FactBase):
    """The installed MariaDB server: its version and whether it answers SQL.

    .. code:: python

        {"installed": True, "running": True, "version": "10.11.6-MariaDB-0+deb12u1", "major_minor": (10, 11)}
        {"installed": False, "running": False, "version": None, "major_minor": None}

    A stopped server still has a version (read from the client package, which ships with it).
    """

    def command(self, client: str = DEFAULT_CLIENT) -> str:
        return (
            f"c={client}; if ! command -v \"$c\" >/dev/null 2>&1; then echo installed=no; exit 0; fi; "
            "echo installed=yes; "
            f"if v=$(\"$c\" -NBe 'SELECT VERSION()' 2>/dev/null); then echo running=yes; echo version=$v; "
            "else echo running=no; echo version=$(\"$c\" --version 2>/dev/null | sed -n 's/.*Distrib \\([^ ,]*\\).*/\\1/p'); fi"
        )

    @staticmethod
    def default() -> dict:
        return {"installed": False, "running": False, "version": None, "major_minor": None}

    def process(self, output) -> dict:
        result = self.default()
        for line in output:
            key, _, value = line.strip().partition("=")
            if key == "installed":
                result["installed"] = value == "yes"
            elif key == "running":
                result["running"] = value == "yes"
            elif key == "version" and value:
                result["version"] = value
                result["major_minor"] = parse_version(value)
        return result


def parse_vertical(lines) -> list[dict[str, str]]:
    """The client's ``-E`` (vertical) output as one dict per row."""
    rows: list[dict[str, str]] = []
    for line in lines:
        if line.startswith("*****") and "row" in line:
            rows.append({})
            continue
        if not rows or ":" not in line:
            continue
        key, _, value = line.partition(":")
        rows[-1][key.strip()] = value[1:] if value.startswith(" ") else value
    return rows


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class ReplicationStatus(FactBase):
    """The node's replication state: its identity, binary log position and the channel from its peer.

    .. code:: python

        {"running": True, "server_id": 2, "gtid_domain_id": 2, "log_bin": True,
         "gtid_binlog_pos": "1-1-12,2-2-3", "gtid_slave_pos": "1-1-12", "gtid_current_pos": "1-1-12,2-2-3",
         "master": {"file": "mysql-bin.000001", "position": 2044}, "first_binlog": "mysql-bin.000001",
         "channel": {"master_host": "192.168.1.5", "master_port": 3306, "master_user": "qmha_repl",
                     "io_running": "Yes", "sql_running": "Yes", "seconds_behind": 0,
                     "last_io_errno": 0, "last_io_error": "", "last_sql_errno": 0, "last_sql_error": "",
                     "using_gtid": "Slave_Pos", "ssl": True, "ssl_ca": "/etc/qm-ha/tls/ca.crt",
                     "ssl_verify_server_cert": True, "connect_retry": 1,
                     "master_log_file": "mysql-bin.000001", "read_master_log_pos": 2044,
                     "relay_master_log_file": "mysql-bin.000001", "exec_master_log_pos": 2044,
                     "heartbeat_period": 1.0},
         "semi_sync": {"enabled": True, "master": True, "clients": 1, "slave": True}}

    ``running`` is False (and the rest empty) when no server answers; ``channel`` is None when no
    replication is configured. The GTID fields are None on servers without GTID (MariaDB 5.5), and
    ``semi_sync``'s on servers without semi-sync (``enabled``: configured; ``master``: this node's
    commits wait for the peer now, False when it went on asynchronously or is not configured;
    ``clients``: peers connected semi-synchronously).
    """

    VARIABLES = ("server_id", "gtid_domain_id", "log_bin", "gtid_binlog_pos", "gtid_slave_pos", "gtid_current_pos",
                 "rpl_semi_sync_master_enabled")
    STATUS = ("Slave_heartbeat_period", "Rpl_semi_sync_master_status", "Rpl_semi_sync_master_clients",
              "Rpl_semi_sync_slave_status")

    def command(self, client: str = DEFAULT_CLIENT) -> str:
        names = ",".join(f"'{v}'" for v in self.VARIABLES)
        status_names = ",".join(f"'{v}'" for v in self.STATUS)
        # three client runs: the one-line answers together (-f: a statement the server refuses, such as
        # SHOW BINARY LOGS without a binary log, leaves the others), the two vertical ones alone; a
        # server that does not answer prints no "variables" section
        together = "; ".join([
            "SELECT '-- variables'", f"SHOW GLOBAL VARIABLES WHERE Variable_name IN ({names})",
            "SELECT '-- binlogs'", "SHOW BINARY LOGS",
            "SELECT '-- status'", f"SHOW GLOBAL STATUS WHERE Variable_name IN ({status_names})",
        ])
        return "; ".join([
            f"c={client}",
            _sql('"$c"', "-NB -f", together),
            "echo '-- slave'",
            _sql('"$c"', "-E", "SHOW SLAVE STATUS"),
            "echo '-- master'",
            _sql('"$c"', "-E", "SHOW MASTER STATUS"),
            "true",
        ])

    @staticmethod
    def default() -> dict:
        return {"running": False, "server_id": None, "gtid_domain_id": None, "log_bin": False,
                "gtid_binlog_pos": None, "gtid_slave_pos": None, "gtid_current_pos": None,
                "master": None, "first_binlog": None, "channel": None,
                "semi_sync": {"enabled": None, "master": None, "clients": None, "slave": None}}

    def process(self, output) -> dict:
        result = self.default()
        sections = split_sections(output, ("variables", "slave", "master", "binlogs", "status"))
        if "variables" not in sections:  # the server did not answer
            return result
        result["running"] = True
        enabled = None
        for line in sections["variables"]:
            name, _, value = line.partition("\t")
            if name in ("server_id", "gtid_domain_id"):
                result[name] = _int(value)
            elif name == "log_bin":
                result["log_bin"] = value.strip().upper() == "ON"
            elif name == "rpl_semi_sync_master_enabled":
                enabled = value.strip().upper() == "ON"
            elif name in self.VARIABLES:
                result[name] = value.strip()
        masters = parse_vertical(sections.get("master", []))
        if masters and masters[0].get("File"):
            result["master"] = {"file": masters[0]["File"], "position": _int(masters[0].get("Position"))}
        binlogs = [line.split("\t")[0] for line in sections.get("binlogs", []) if line.strip()]
        result["first_binlog"] = binlogs[0] if binlogs else None
        status = dict(line.partition("\t")[::2] for line in sections.get("status", []) if line.strip())
        on = {"ON": True, "OFF": False}
        result["semi_sync"] = {"enabled": enabled,
                               "master": on.get(status.get("Rpl_semi_sync_master_status", "").strip()),
                               "clients": _int(status.get("Rpl_semi_sync_master_clients")),
                               "slave": on.get(status.get("Rpl_semi_sync_slave_status", "").strip())}
        slaves = parse_vertical(sections.get("slave", []))
        if slaves and slaves[0].get("Master_Host"):
            s = slaves[0]
            result["channel"] = {
                "master_host": s.get("Master_Host"),
                "master_port": _int(s.get("Master_Port")),
                "master_user": s.get("Master_User"),
                "io_running": s.get("Slave_IO_Running"),
                "sql_running": s.get("Slave_SQL_Running"),
                "seconds_behind": _int(s.get("Seconds_Behind_Master")),
                "last_io_errno": _int(s.get("Last_IO_Errno")) or 0,
                "last_io_error": s.get("Last_IO_Error") or "",
                "last_sql_errno": _int(s.get("Last_SQL_Errno")) or 0,
                "last_sql_error": s.get("Last_SQL_Error") or "",
                "using_gtid": s.get("Using_Gtid") or "No",
                "ssl": s.get("Master_SSL_Allowed") == "Yes",
                "ssl_ca": s.get("Master_SSL_CA_File") or "",
                "ssl_verify_server_cert": s.get("Master_SSL_Verify_Server_Cert") == "Yes",
                "connect_retry": _int(s.get("Connect_Retry")),
                "master_log_file": s.get("Master_Log_File"),
                "read_master_log_pos": _int(s.get("Read_Master_Log_Pos")),
                "relay_master_log_file": s.get("Relay_Master_Log_File"),
                "exec_master_log_pos": _int(s.get("Exec_Master_Log_Pos")),
                "heartbeat_period": _float(status.get("Slave_heartbeat_period")),
            }
        return result


#: the global privileges (``mysql.user`` columns) read for each account: what the replication account
#: and the seed account (a dump of the database with its position) need
GLOBAL_PRIVILEGES = ("Repl_slave_priv", "Repl_client_priv", "Select_priv", "Reload_priv", "Lock_tables_priv",
                     "Show_view_priv", "Trigger_priv", "Event_priv")


class DatabaseAccounts(FactBase):
    """Accounts and schema state the database phase manages.

    .. code:: python

        {"running": True,
         "users": [{"user": "root", "host": "localhost", "password": "*81F5...", "ssl_type": "",
                    "repl_slave": False, "repl_client": False, "global": ["Repl_client_priv", ...]}, ...],
         "db_grants": {("queuemetrics", "localhost"): {"all": True, "grant": False}, ...},
         "databases": ["mysql", "queuemetrics", "test"],
         "tables": 0}

    ``db_grants`` covers DATABASE only; ``tables`` counts DATABASE's tables.
    """

    def command(self, database: str, client: str = DEFAULT_CLIENT) -> str:
        # two client runs: the headerless answers together, mysql.db with its header (its columns
        # differ by version); a server that does not answer prints no "users" section
        together = "; ".join([
            "SELECT '-- users'", f"SELECT User, Host, Password, ssl_type, {', '.join(GLOBAL_PRIVILEGES)} FROM mysql.user",
            "SELECT '-- databases'", "SHOW DATABASES",
            "SELECT '-- tables'", f"SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{database}'",
        ])
        return "; ".join([
            f"c={client}",
            _sql('"$c"', "-NB -f", together),
            "echo '-- db'",
            _sql('"$c"', "-B", f"SELECT * FROM mysql.db WHERE Db = '{database}'"),
            "true",
        ])

    @staticmethod
    def default() -> dict:
        return {"running": False, "users": [], "db_grants": {}, "databases": [], "tables": 0}

    def process(self, output) -> dict:
        result = self.default()
        sections = split_sections(output, ("users", "db", "databases", "tables"))
        if "users" not in sections:  # the server did not answer
            return result
        result["running"] = True
        for line in sections["users"]:
            fields = line.split("\t")
            if len(fields) < 6:
                continue
            user, host_, password, ssl_type = fields[:4]
            granted = {column for column, value in zip(GLOBAL_PRIVILEGES, fields[4:]) if value == "Y"}
            result["users"].append({"user": user, "host": host_, "password": password, "ssl_type": ssl_type,
                                    "repl_slave": "Repl_slave_priv" in granted,
                                    "repl_client": "Repl_client_priv" in granted, "global": sorted(granted)})
        db_lines = [line.split("\t") for line in sections.get("db", []) if line.strip()]
        if db_lines:
            header = db_lines[0]
            for values in db_lines[1:]:
                row = dict(zip(header, values))
                privs = {k: v for k, v in row.items() if k.endswith("_priv") and k != "Grant_priv"}
                result["db_grants"][(row.get("User"), row.get("Host"))] = {
                    "all": bool(privs) and all(v == "Y" for v in privs.values()),
                    "grant": row.get("Grant_priv") == "Y",
                }
        result["databases"] = [line.strip() for line in sections.get("databases", []) if line.strip()]
        tables = [line.strip() for line in sections.get("tables", []) if line.strip()]
        result["tables"] = _int(tables[0]) or 0 if tables else 0
        return result


class ChannelPassword(FactBase):
    """SHA-256 (hex) of the password this node's replication channel logs in to its peer with,
    read from the server's ``master.info`` (line 6) in its data directory; None when the server
    does not answer or has no channel. The password itself never leaves the node.

    .. code:: python

        "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"

    The deploy compares it with the cluster's replication password: a channel still holding an
    old password is given the new one in place, without touching its position.
    """

    def command(self, client: str = DEFAULT_CLIENT) -> str:
        return "; ".join([
            f"c={client}",
            "d=$(\"$c\" -NBe 'SELECT @@datadir' 2>/dev/null) || exit 0",
            "f=\"${d%/}/master.info\"",
            "[ -n \"$d\" ] && [ -s \"$f\" ] || exit 0",
            "sed -n 6p \"$f\" | tr -d '\\n' | sha256sum | cut -d' ' -f1",
        ])

    def process(self, output) -> str | None:
        value = "\n".join(output).strip()
        return value if re.fullmatch(r"[0-9a-f]{64}", value) else None
