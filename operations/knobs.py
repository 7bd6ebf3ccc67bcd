"""Every knob of the deploy, typed and checked: the one place the code reads inventory data.

Defaults and one-line descriptions live in ``inventories/group_data/all.py`` (pyinfra loads it as
the group data of every inventory); this module says what form each knob takes and reads it once
per host into a frozen ``Knobs``. A value that is not of its form is kept out (the default stands
in) and recorded in ``Knobs.problems``, which preflight reports with host, knob, problem and fix
before anything on the nodes changes.

Example:

.. code:: python

    from operations import knobs

    k = knobs.read(host.name, host.data)
    k.qm_tomcat_http_port        # 8080
    k.problems                   # () when every knob has its form
    knobs.describe("qm_hsts_max_age")   # the line from all.py
"""

from __future__ import annotations

import ast
import ipaddress
import re
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ALL_PY = Path(__file__).resolve().parent.parent / "inventories" / "group_data" / "all.py"

FQDN_RE = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")
HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)+$")


class Bad(ValueError):
    """One knob's value is not of its form: the problem and the fix."""

    def __init__(self, problem: str, fix: str):
        super().__init__(problem)
        self.problem, self.fix = problem, fix


@dataclass(frozen=True)
class Problem:
    host: str
    knob: str
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.host}: {self.knob}: {self.problem}. Fix: {self.fix}"


# ---------------------------------------------------------------- forms


@dataclass(frozen=True)
class Form:
    """What a knob's value must look like; ``parse`` returns it in its type or raises ``Bad``."""

    #: None is an accepted value (the knob is "unset")
    optional: bool = False
    #: an example of a good value, for the fix
    example: str = ""

    def parse(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip() in ("None", "null") and self.optional:
            value = None  # what ``--data knob=None`` gives
        if value is None:
            if self.optional:
                return None
            raise Bad("it is not set", f"set it, e.g. {self.example}")
        return self.convert(value)

    def convert(self, value: Any) -> Any:
        return value


@dataclass(frozen=True)
class Flag(Form):
    """True or False (also the words pyinfra's ``--data`` may leave as text: yes/no, on/off, 1/0)."""

    WORDS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}

    def convert(self, value):
        if isinstance(value, bool):
            return value
        if isinstance(value, (str, int)) and str(value).strip().lower() in self.WORDS:
            return self.WORDS[str(value).strip().lower()]
        raise Bad(f"{value!r} is not True or False", "set it to True or False")


@dataclass(frozen=True)
class Number(Form):
    """A whole number (or, with ``real``, any number) between LOW and HIGH."""

    low: float = 0
    high: float = 10**9
    real: bool = False

    def convert(self, value):
        if isinstance(value, bool):
            raise Bad(f"{value!r} is not a number", f"set it to a number from {self.low:g} to {self.high:g}")
        try:
            number = float(value) if self.real else int(str(value).strip()) if isinstance(value, str) else value
        except ValueError:
            number = None
        if not isinstance(number, (int, float)) or (not self.real and isinstance(number, float)):
            raise Bad(f"{value!r} is not a whole number" if not self.real else f"{value!r} is not a number",
                      f"set it to a number from {self.low:g} to {self.high:g}")
        if not self.low <= number <= self.high:
            raise Bad(f"{number} is out of range", f"set it to a number from {self.low:g} to {self.high:g}")
        return number


def Port(**kw) -> Number:  # noqa: N802 (reads as a form)
    return Number(low=1, high=65535, example="8443", **kw)


@dataclass(frozen=True)
class Text(Form):
    """Text matching PATTERN (what it is, in WHAT)."""

    pattern: str = r".+"
    what: str = "text"

    def convert(self, value):
        if not isinstance(value, str) or not re.fullmatch(self.pattern, value):
            raise Bad(f"{value!r} is not {self.what}", f"set it to {self.what}, e.g. {self.example}")
        return value


@dataclass(frozen=True)
class Choice(Form):
    words: tuple[str, ...] = ()

    def convert(self, value):
        if value not in self.words:
            raise Bad(f"{value!r} is not one of {', '.join(self.words)}", f"set it to one of {', '.join(self.words)}")
        return value


@dataclass(frozen=True)
class Fqdn(Form):
    def convert(self, value):
        if not isinstance(value, str) or not FQDN_RE.match(value.lower()):
            raise Bad(f"{value!r} is not a fully qualified domain name",
                      f"set it to a name like {self.example or 'node-a.mycompany.com'}")
        return value.lower()


@dataclass(frozen=True)
class Ipv4(Form):
    def convert(self, value):
        try:
            return str(ipaddress.IPv4Address(str(value)))
        except ValueError:
            raise Bad(f"{value!r} is not an IPv4 address", f"set it to an address like {self.example}") from None


@dataclass(frozen=True)
class LocalFile(Form):
    """A file on the control machine (the machine running the deploy). With ``checked_later``, only
    its form is checked here: the code that reads it names a missing or unusable file itself."""

    directory_too: bool = False
    checked_later: bool = False

    def convert(self, value):
        if not isinstance(value, (str, Path)) or not str(value).strip():
            raise Bad(f"{value!r} is not a path", f"set it to a path on this machine, e.g. {self.example}")
        path = Path(str(value)).expanduser()
        ok = self.checked_later or path.is_file() or (self.directory_too and path.is_dir())
        if not ok:
            what = "a file or directory" if self.directory_too else "a file"
            raise Bad(f"{path} is not {what} on this machine", f"point it at {what} that exists here "
                      f"(e.g. {self.example}), or leave it unset")
        return str(path)


@dataclass(frozen=True)
class LocalDir(Form):
    """A directory on the control machine; made when missing, so only its form is checked."""

    def convert(self, value):
        if not isinstance(value, (str, Path)) or not str(value).strip():
            raise Bad(f"{value!r} is not a path", f"set it to a directory on this machine, e.g. {self.example}")
        path = Path(str(value)).expanduser()
        if path.exists() and not path.is_dir():
            raise Bad(f"{path} exists and is not a directory", "point it at a directory, or a path to create")
        return str(path)


@dataclass(frozen=True)
class NodePath(Form):
    """An absolute path on the nodes."""

    def convert(self, value):
        if not isinstance(value, str) or not value.startswith("/") or "\n" in value or "'" in value:
            raise Bad(f"{value!r} is not an absolute path", f"set it to an absolute path on the nodes, e.g. {self.example}")
        return value


@dataclass(frozen=True)
class Url(Form):
    def convert(self, value):
        parsed = urlparse(value) if isinstance(value, str) else None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc or " " in value:
            raise Bad(f"{value!r} is not an http(s) URL", f"set it to a URL, e.g. {self.example}")
        return value


@dataclass(frozen=True)
class ListOf(Form):
    """A list (or tuple) whose items each have the form ITEM; a bare string is refused, not split."""

    item: Form = field(default_factory=Form)

    def convert(self, value):
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise Bad(f"{value!r} is not a list", f"give a list: [{self.example}] in the inventory, or "
                      f"--data 'KNOB=[{self.example.replace(chr(39), chr(34))}]' on the command line")
        items = []
        for entry in value:
            try:
                items.append(self.item.parse(entry))
            except Bad as bad:
                raise Bad(f"item {entry!r}: {bad.problem}", bad.fix) from None
        return tuple(items)


@dataclass(frozen=True)
class Network(Form):
    """An IPv4 address or network, e.g. ``203.0.113.7/32`` (the cluster's network is IPv4)."""

    def convert(self, value):
        try:
            return str(ipaddress.IPv4Network(str(value), strict=True))
        except ValueError:
            raise Bad(f"{value!r} is not an address or network", "write it as 203.0.113.7 or 203.0.113.0/24 "
                      "(host bits zero)") from None


@dataclass(frozen=True)
class HostName(Form):
    def convert(self, value):
        if not isinstance(value, str) or not HOSTNAME_RE.match(value):
            raise Bad(f"{value!r} is not a host name or address", f"write it as e.g. {self.example}")
        return value


IDENT = r"[A-Za-z0-9_]{1,64}"
#: qm_app_mode's words (the webapp's install modes) and qm_jdbc_driver's (the JDBC_URL forms)
APP_MODES = ("standin", "war", "loway")
JDBC_DRIVERS = ("mariadb", "mysql")


def form(f: Form) -> Any:
    return field(metadata={"form": f})


# ---------------------------------------------------------------- the knobs


@dataclass(frozen=True)
class Knobs:
    """One host's knobs, in their types. Defaults and descriptions: inventories/group_data/all.py."""

    host: str
    # the cluster
    qm_cluster_fqdn: str = form(Fqdn(example="'queuemetrics.mycompany.com'"))
    qm_node_fqdn: str = form(Fqdn(example="'node-a.mycompany.com'"))
    qm_node_address: str = form(Ipv4(example="'192.168.1.5'"))
    # preflight
    qm_interface: str = form(Text(pattern=r"[A-Za-z0-9_.:@-]{1,15}", what="an interface name", example="'eth0'"))
    qm_strict_disk_layout: bool = form(Flag())
    qm_clock_tolerance_s: float = form(Number(low=0.1, high=60, real=True))
    # base
    qm_package_mirror: str | None = form(Url(optional=True, example="'https://vault.centos.org/7.9.2009'"))
    qm_epel_mirror: str | None = form(Url(optional=True, example="'https://archives.fedoraproject.org/pub/archive/epel/7'"))
    qm_ntp_servers: tuple[str, ...] | None = form(ListOf(optional=True, item=HostName(example="'ntp1.mycompany.com'"),
                                                         example="'ntp1.mycompany.com'"))
    # TLS
    qm_tls_cert: str | None = form(LocalFile(optional=True, checked_later=True, example="'certs/queuemetrics.crt'"))
    qm_tls_key: str | None = form(LocalFile(optional=True, checked_later=True, example="'certs/queuemetrics.key'"))
    qm_tls_chain: str | None = form(LocalFile(optional=True, checked_later=True, example="'certs/chain.pem'"))
    qm_tls_ca: str | None = form(LocalFile(optional=True, checked_later=True, example="'certs/ca.crt'"))
    # database
    qm_db_name: str = form(Text(pattern=IDENT, what="a database name (letters, digits, _)", example="'queuemetrics'"))
    qm_db_app_user: str = form(Text(pattern=r"[A-Za-z0-9_]{1,32}", what="an account name (letters, digits, _)",
                                    example="'queuemetrics'"))
    qm_db_charset: str = form(Text(pattern=r"[a-z0-9]{2,32}", what="a MariaDB character set name", example="'utf8'"))
    qm_db_expire_logs_days: int = form(Number(low=1, high=99))
    qm_db_semi_sync: bool = form(Flag())
    qm_db_watchdog_s: int = form(Number(low=0, high=3600))
    qm_db_min_free_mb: int = form(Number(low=0, high=10**6))
    qm_backup_time: str = form(Text(pattern=r"([01][0-9]|2[0-3]):[0-5][0-9]", what="a time of day HH:MM",
                                    example="'03:15'"))
    qm_backup_dir: str = form(NodePath(example="'/var/backups/qm-ha'"))
    qm_backup_keep: int = form(Number(low=1, high=365))
    qm_db_semi_sync_timeout_ms: int = form(Number(low=100, high=60_000))
    qm_db_dump: str | None = form(LocalFile(optional=True, checked_later=True, example="'backup/queuemetrics.sql.gz'"))
    qm_db_import_into_nonempty: bool = form(Flag())
    qm_db_resync: str | None = form(Text(optional=True, pattern=r"[^\s]+", what="a host name of this inventory",
                                         example="'node-b'"))
    # floating addresses
    qm_floating_addresses: tuple[str, ...] | None = form(ListOf(optional=True, item=Ipv4(example="'192.168.1.21'"),
                                                                example="'192.168.1.21', '192.168.1.22'"))
    qm_vrrp_router_id: int = form(Number(low=1, high=254))
    # application server
    qm_app_mode: str = form(Choice(words=APP_MODES, example="'war' (with qm_app_war) or 'loway' (Loway's package, EL)"))
    qm_app_war: str | None = form(LocalFile(optional=True, directory_too=True, example="'queuemetrics-24.10.war'"))
    qm_loway_repo_url: str = form(Url(example="'http://yum.loway.ch/loway.repo'"))
    qm_import_properties: str | None = form(LocalFile(optional=True, example="'old-server/configuration.properties'"))
    qm_import_web_xml: str | None = form(LocalFile(optional=True, example="'old-server/web.xml'"))
    qm_licence_file: str | None = form(LocalFile(optional=True, example="'licences/node-a.key'"))
    qm_jdbc_driver: str | None = form(Choice(optional=True, words=JDBC_DRIVERS))
    qm_jdbc_connect_timeout_ms: int = form(Number(low=100, high=600_000))
    qm_jdbc_socket_timeout_ms: int = form(Number(low=1000, high=86_400_000))
    qm_tomcat_http_port: int = form(Port())
    qm_tomcat_https_port: int = form(Port())
    qm_tomcat_xmx: str = form(Text(pattern=r"[1-9][0-9]*[kKmMgG]?", what="a JVM heap size", example="'512m'"))
    # web server
    qm_web_peer_hop_port: int = form(Port())
    qm_web_connect_timeout_s: int = form(Number(low=1, high=600))
    qm_web_read_timeout_s: int = form(Number(low=1, high=86_400))
    qm_hsts_max_age: int = form(Number(low=0, high=10**9))
    # SSH
    qm_ssh_password_login: bool | None = form(Flag(optional=True))
    qm_installer_public_key: str | None = form(LocalFile(optional=True, example="'keys/installer.pub'"))
    # firewall
    qm_firewall_ssh_sources: tuple[str, ...] = form(ListOf(item=Network(), example="'203.0.113.7/32'"))
    # configuration sync
    qm_config_properties: str | None = form(NodePath(optional=True,
                                                     example="'/opt/qm/webapps/queuemetrics/WEB-INF/configuration.properties'"))
    qm_sync_keep_backups: int = form(Number(low=1, high=1000))
    qm_sync_max_skew_s: int = form(Number(low=1, high=3600))
    qm_sync_min_keep_percent: int = form(Number(low=0, high=100))
    # the lab
    qm_lab: bool = form(Flag())
    # control machine
    qm_local_state_dir: str | None = form(LocalDir(optional=True, example="'~/qm-ha-state/mycompany'"))
    #: problems found while reading (the default stands in for each refused value)
    problems: tuple[Problem, ...] = ()


def names() -> list[str]:
    """Every knob's name, in the order of ``Knobs``."""
    return [f.name for f in fields(Knobs) if "form" in f.metadata]


@cache
def documented() -> dict[str, tuple[Any, str]]:
    """all.py's knobs: name -> (default, the comment on its line)."""
    text = ALL_PY.read_text()
    lines = text.splitlines()
    result = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            comment = lines[node.lineno - 1].partition("#")[2].strip() if "#" in lines[node.lineno - 1] else ""
            result[name] = (ast.literal_eval(node.value), comment)
    return result


def default(name: str) -> Any:
    return documented()[name][0]


def describe(name: str) -> str:
    return documented()[name][1]


def raw(data, name: str) -> Any:
    """Knob NAME as DATA gives it, before its form is checked (all.py's default when DATA lacks it)."""
    return data.get(name, default(name))


def cross_checks(k: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(knob, problem, fix) for values that are each of their form but do not fit together."""
    found = []
    if k.get("qm_tls_cert") and not k.get("qm_tls_key"):
        found.append(("qm_tls_key", "qm_tls_cert is set but its key is not",
                      "set qm_tls_key to the certificate's private key (PEM, unencrypted)"))
    for name in ("qm_tls_key", "qm_tls_chain", "qm_tls_ca"):
        if k.get(name) and not k.get("qm_tls_cert"):
            found.append((name, "it is set without qm_tls_cert", "set qm_tls_cert too, or unset this knob"))
    if k.get("qm_app_mode") == "war" and not k.get("qm_app_war"):
        found.append(("qm_app_war", "qm_app_mode is 'war' but qm_app_war is not set",
                      "point qm_app_war at the QueueMetrics WAR file or unpacked directory on this machine"))
    ports = {name: k.get(name) for name in ("qm_tomcat_http_port", "qm_tomcat_https_port", "qm_web_peer_hop_port")}
    taken = {22: "SSH", 80: "nginx (HTTP)", 443: "nginx (HTTPS)", 3306: "MariaDB"}
    seen: dict[int, str] = {}
    for name, port in ports.items():
        if port is None:
            continue
        if port in taken:
            found.append((name, f"port {port} is {taken[port]}'s", "choose a port no other service of the node uses"))
        elif port in seen:
            found.append((name, f"port {port} is also {seen[port]}", "give each of the three a port of its own"))
        seen[port] = name
    floating = k.get("qm_floating_addresses")
    if floating is not None:
        if len(floating) != 2 or len(set(floating)) != 2:
            found.append(("qm_floating_addresses", f"it holds {len(set(floating))} distinct address(es), not 2",
                          "give two free addresses on the nodes' subnet, node A's first, e.g. "
                          "['192.168.1.21', '192.168.1.22']; or unset it for plain round robin"))
        elif k.get("qm_node_address") in floating:
            found.append(("qm_floating_addresses", f"{k['qm_node_address']} is this node's own address",
                          "give two addresses that no node or other host has"))
    if k.get("qm_vrrp_router_id") == 254 and floating:
        found.append(("qm_vrrp_router_id", "node B's floating address needs the next id (255 is not a VRRP id)",
                      "choose an id from 1 to 253"))
    if k.get("qm_jdbc_socket_timeout_ms") is not None and k.get("qm_jdbc_connect_timeout_ms") is not None \
            and k["qm_jdbc_socket_timeout_ms"] < k["qm_jdbc_connect_timeout_ms"]:
        found.append(("qm_jdbc_socket_timeout_ms", "it is shorter than qm_jdbc_connect_timeout_ms",
                      "give queries at least as long as a connection attempt (longer than the longest report)"))
    return found


def read(host_name: str, data) -> Knobs:
    """HOST_NAME's knobs from its pyinfra DATA (host > group > all.py), each parsed by its form.

    DATA is ``host.data`` or any mapping with ``get``; a knob it lacks takes all.py's default.
    """
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for f in fields(Knobs):
        if "form" not in f.metadata:
            continue
        try:
            values[f.name] = f.metadata["form"].parse(raw(data, f.name))
        except Bad as bad:
            problems.append(Problem(host_name, f.name, bad.problem, bad.fix.replace("KNOB", f.name)))
            values[f.name] = default(f.name)
    problems += [Problem(host_name, *found) for found in cross_checks(values)]
    return Knobs(host=host_name, **values, problems=tuple(problems))


# ---------------------------------------------------------------- how pyinfra reaches the node


@dataclass(frozen=True)
class Connection:
    """pyinfra's own connection data for a host (not knobs of ours, read here all the same)."""

    hostname: str
    port: int
    user: str
    sudo: bool
    sudo_password: str | None = field(default=None, repr=False)
    #: the private key file the deploy connects with (``ssh_key``), if the inventory names one
    key_file: str | None = None


def connection(host_name: str, data) -> Connection:
    """How the inventory says HOST_NAME is reached: ``ssh_hostname``, ``ssh_port``, ``ssh_user``, ``_sudo``."""
    try:
        port = int(data.get("ssh_port") or 22)
    except (TypeError, ValueError):
        port = 22
    return Connection(hostname=str(data.get("ssh_hostname") or host_name), port=port,
                      user=str(data.get("ssh_user") or "root"), sudo=bool(data.get("_sudo")),
                      sudo_password=data.get("_sudo_password"), key_file=data.get("ssh_key"))
