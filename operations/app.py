"""Application phase: Tomcat with the QueueMetrics webapp at ``/queuemetrics`` and its JDBC URL.

Tomcat listens on 127.0.0.1 over HTTP for this node's nginx, and on the node address over HTTPS
(the cluster certificate in a PKCS#12 keystore) for the peer's nginx only. The webapp reaches its
database through ``JDBC_URL``: this node's MariaDB first, the peer's second, in the driver's
ordered-failover form with short timeouts, so a dead database costs a request milliseconds and a
hung one at most the socket timeout.

Install modes (``qm_app_mode``):

+ ``standin``: the small webapp in ``files/queuemetrics-standin/`` with the real one's contract
  (the lab uses it; the licensed QueueMetrics cannot be shipped);
+ ``war``: a QueueMetrics WAR file or unpacked directory on the control machine (``qm_app_war``),
  unpacked here with its ``JDBC_URL`` set, then synced to the node;
+ ``loway``: Loway's yum repository and package (EL only), with Loway's own Tomcat.

Example:

.. code:: python

    from operations import app
    app.configure()
    app.jdbc_url("mariadb", "192.168.1.6", "queuemetrics", "queuemetrics", "secret", 2000, 15000)
    # 'jdbc:mariadb:sequential://127.0.0.1:3306,192.168.1.6:3306/queuemetrics?user=...'
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import zipfile
from pathlib import Path
from urllib.parse import quote_plus, urlencode
from xml.sax.saxutils import escape

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from pyinfra import host
from pyinfra.api import FactBase, QuoteString, StringCommand, deploy, operation
from pyinfra.api.hiddenvalue import HiddenValue
from pyinfra.operations import files, server, systemd
from pyinfra.operations.util import any_changed

from . import certificates, cluster, local, tls
from .base import current_platform
from .platform import Platform, Tomcat, install_packages
from .secret_files import secret_file

PROJECT = Path(__file__).resolve().parent.parent
TEMPLATES = PROJECT / "templates"
STANDIN = PROJECT / "files" / "queuemetrics-standin"

CONTEXT = "queuemetrics"
MODES = ("standin", "war", "loway")
DRIVERS = ("mariadb", "mysql")
KEYSTORE = f"{tls.NODE_DIR}/tomcat.p12"
#: the WAR's descriptor, installed apart from the rest of the webapp (``files.sync`` exclude pattern)
WAR_WEB_XML = "*/WEB-INF/web.xml"
#: the stand-in's files copied as they are (web.xml is rendered from the template)
STANDIN_FILES = ("sysup.jsp", "probe.jsp", "WEB-INF/configuration.properties")


class AppConfigError(ValueError):
    """The inventory asks for an application setup this deploy cannot make; the message says the fix."""


# ---------------------------------------------------------------- decisions


def jdbc_driver(mode: str, configured: str | None) -> str:
    """The JDBC_URL form: the knob when set, else MariaDB's for the stand-in, MySQL's for QueueMetrics.

    QueueMetrics ships MySQL Connector/J; the stand-in uses the distribution's MariaDB Connector/J.
    """
    driver = configured or ("mariadb" if mode == "standin" else "mysql")
    if driver not in DRIVERS:
        raise AppConfigError(f"qm_jdbc_driver is {driver!r}; set it to one of {', '.join(DRIVERS)}")
    return driver


def jdbc_url(driver: str, peer_address: str, database: str, user: str, password: str,
             connect_timeout_ms: int, socket_timeout_ms: int, port: int = 3306) -> str:
    """The webapp's JDBC_URL: this node's database first, the peer's second, short timeouts.

    + driver: "mariadb" (MariaDB Connector/J 2.x: ``sequential`` tries the hosts in order) or
      "mysql" (MySQL Connector/J: the host list is ordered failover; ``failOverReadOnly=false``
      keeps the connection writable on the peer)
    + connect_timeout_ms: how long a connection attempt to a dead host may take
    + socket_timeout_ms: how long a query may wait for an answer (a hung database costs this);
      it must exceed the longest report query

    QueueMetrics reads the user and password from the URL, so they are in it.
    """
    hosts = f"127.0.0.1:{port},{peer_address}:{port}"
    timeouts = {"connectTimeout": int(connect_timeout_ms), "socketTimeout": int(socket_timeout_ms)}
    if driver == "mariadb":
        params = {"user": user, "password": password, **timeouts}
        return f"jdbc:mariadb:sequential://{hosts}/{database}?{urlencode(params)}"
    if driver == "mysql":
        params = {"zeroDateTimeBehavior": "convertToNull", "jdbcCompliantTruncation": "false",
                  "failOverReadOnly": "false", **timeouts, "user": user, "password": password}
        return f"jdbc:mysql://{hosts}/{database}?{urlencode(params)}"
    raise AppConfigError(f"unknown JDBC driver {driver!r}; use one of {', '.join(DRIVERS)}")


def spellings(secret: str) -> list[str]:
    """SECRET as it may appear in a file: as is, URL-encoded (in a JDBC URL) and XML-escaped."""
    return [secret, quote_plus(secret), escape(quote_plus(secret)), escape(secret, {'"': "&quot;"})]


def web_xml_standin(url: str) -> str:
    """The stand-in webapp's WEB-INF/web.xml with JDBC_URL set to URL."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                      keep_trailing_newline=True, autoescape=False)
    return env.get_template("queuemetrics/web.xml.j2").render(jdbc_url=url)


def tomcat_for(platform: Platform, mode: str) -> Tomcat:
    """The Tomcat of this install mode: Loway's for ``loway``, the distribution's otherwise."""
    if mode not in MODES:
        raise AppConfigError(f"qm_app_mode is {mode!r}; set it to one of {', '.join(MODES)}")
    if mode == "loway":
        if platform.loway_tomcat is None:
            raise AppConfigError(f"qm_app_mode 'loway' needs Loway's yum package, which {platform.label} "
                                 "cannot install; use 'war' with a QueueMetrics WAR instead")
        return platform.loway_tomcat
    return platform.tomcat


def allowed_addresses(addresses: list[str]) -> str:
    """A Tomcat address regex (RemoteAddrValve/RemoteIpValve) matching exactly these addresses."""
    return "|".join(re.escape(a) for a in addresses)


def set_context_param(web_xml: str, name: str, value: str) -> str:
    """WEB-INF/web.xml text with the context parameter NAME set to VALUE (XML-escaped).

    Raises AppConfigError when the file declares no such parameter (not a QueueMetrics webapp).
    """
    pattern = re.compile(
        r"(<param-name>\s*" + re.escape(name) + r"\s*</param-name>\s*<param-value>)(.*?)(</param-value>)",
        re.S,
    )
    if not pattern.search(web_xml):
        raise AppConfigError(f"WEB-INF/web.xml declares no context parameter {name}: "
                             "is qm_app_war a QueueMetrics webapp?")
    return pattern.sub(lambda m: m.group(1) + escape(value) + m.group(3), web_xml, count=1)


def server_xml(tomcat: Tomcat, node_address: str, peer_address: str, http_port: int, https_port: int,
               keystore_password: str) -> str:
    """Tomcat's server.xml: HTTP on loopback, HTTPS on the node address, only the peer let in there."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                      keep_trailing_newline=True)
    return env.get_template("tomcat/server.xml.j2").render(
        tomcat=tomcat, node_address=node_address, http_port=int(http_port), https_port=int(https_port),
        keystore=KEYSTORE, keystore_password=keystore_password,
        # The HTTP connector is on loopback, so only this node reaches it; over HTTPS only the peer.
        allow=allowed_addresses(["127.0.0.1", peer_address]),
        proxies=allowed_addresses(["127.0.0.1", peer_address]),
    )


# ---------------------------------------------------------------- control machine


def keystore_bytes(material: certificates.ClusterTLS, password: str, path: Path) -> bytes:
    """Tomcat's PKCS#12 keystore, kept at PATH and rebuilt only when the certificate or key changed.

    A new keystore differs byte for byte every time (random salts), so reusing it keeps re-runs
    from restarting Tomcat.
    """
    want_cert = material.cert_path.read_bytes()
    want_key = serialization.load_pem_private_key(material.key_path.read_bytes(), password=None)
    want_pub = want_key.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    if path.exists():
        try:
            key, cert, _ = pkcs12.load_key_and_certificates(path.read_bytes(), password.encode())
            same_cert = cert is not None and cert.public_bytes(serialization.Encoding.PEM) in want_cert
            same_key = key is not None and key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == want_pub
            if same_cert and same_key:
                return path.read_bytes()
        except ValueError:
            pass
    data = certificates.pkcs12_bytes(material, password)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o600)
    tmp.replace(path)
    return data


def unpack_war(war: Path, work_dir: Path, jdbc_url_value: str) -> Path:
    """The customer's WAR (file or directory) unpacked into WORK_DIR with JDBC_URL set; its path.

    A WAR file is unpacked again only when its content changed.
    """
    war = Path(war).expanduser()
    if not war.exists():
        raise AppConfigError(f"qm_app_war is {war}, which does not exist on this machine; "
                             "point it at the QueueMetrics WAR file or unpacked directory")
    target = work_dir / "queuemetrics"
    marker = work_dir / "source.sha256"
    if war.is_dir():
        source_id = f"dir:{war.resolve()}"
    else:
        source_id = hashlib.sha256(war.read_bytes()).hexdigest()
    if not target.exists() or not marker.exists() or marker.read_text() != source_id or war.is_dir():
        if target.exists():
            shutil.rmtree(target)
        if war.is_dir():
            shutil.copytree(war, target)
        else:
            with zipfile.ZipFile(war) as archive:
                archive.extractall(target)
        marker.write_text(source_id)
    web_xml = target / "WEB-INF" / "web.xml"
    if not web_xml.exists():
        raise AppConfigError(f"{war} has no WEB-INF/web.xml: is it a QueueMetrics webapp?")
    web_xml.write_text(set_context_param(web_xml.read_text(), "JDBC_URL", jdbc_url_value))
    return target


# ---------------------------------------------------------------- facts and operations


# Reads or sets one context parameter of a web.xml on the node (python 2 or 3: EL7 has only 2).
_PARAM_SCRIPT = r"""
import re, sys
path, name = sys.argv[1], sys.argv[2]
rx = re.compile(r'(<param-name>\s*' + re.escape(name) + r'\s*</param-name>\s*<param-value>)(.*?)(</param-value>)', re.S)
try:
    text = open(path).read()
except IOError:
    sys.exit(0)
m = rx.search(text)
if len(sys.argv) == 3:
    if m:
        sys.stdout.write(m.group(2).replace('&lt;', '<').replace('&gt;', '>').replace('&amp;', '&') + '\n')
    sys.exit(0)
if not m:
    sys.stderr.write('%s declares no context parameter %s\n' % (path, name))
    sys.exit(1)
value = sys.argv[3].replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
text = text[:m.start(2)] + value + text[m.end(2):]
open(path, 'w').write(text)
"""

_PYTHON = "$(command -v python3 || command -v python)"


class ContextParam(FactBase):
    """The value of context parameter PARAM in the web.xml at PATH, or None (no file, no parameter)."""

    def command(self, path: str, param: str) -> StringCommand:
        return StringCommand(_PYTHON, "-c", QuoteString(_PARAM_SCRIPT), QuoteString(path), QuoteString(param))

    def process(self, output) -> str | None:
        value = "\n".join(output).strip()
        return value or None


@operation()
def context_param(path: str, param: str, value: str):
    """Set context parameter PARAM of the web.xml at PATH (installed by a package) to VALUE.

    + path: WEB-INF/web.xml on the node; it may appear only during this run (package install)
    """
    if host.get_fact(ContextParam, path=path, param=param) == value:
        host.noop(f"{param} in {path} is already set")
        return
    yield StringCommand(_PYTHON, "-c", QuoteString(_PARAM_SCRIPT), QuoteString(path), QuoteString(param),
                        QuoteString(HiddenValue(value)))


# ---------------------------------------------------------------- deploy


def _webapp_standin(tomcat: Tomcat, webapp: str, url: str, hide: list[str]) -> list:
    changed = [files.directory(name=f"{webapp}/WEB-INF", path=f"{webapp}/WEB-INF", user="root",
                               group="root", mode="0755")]
    for rel in STANDIN_FILES:
        changed.append(files.put(name=f"Stand-in {rel}", src=str(STANDIN / rel), dest=f"{webapp}/{rel}",
                                 user="root", group="root", mode="0644", create_remote_dir=False))
    changed.append(secret_file(name="Stand-in WEB-INF/web.xml (JDBC_URL)", path=f"{webapp}/WEB-INF/web.xml",
                               content=web_xml_standin(url), secrets=hide,
                               user="root", group=tomcat.user, mode="0640"))
    return changed


def _webapp_war(tomcat: Tomcat, webapp: str, url: str, hide: list[str]) -> list:
    source = host.data.get("qm_app_war")
    if not source:
        raise AppConfigError("qm_app_mode is 'war' but qm_app_war is not set; point it at the "
                             "QueueMetrics WAR file or unpacked directory on this machine")
    unpacked = unpack_war(Path(source), local.state_dir() / "webapp" / host.name, url)
    # web.xml (it holds the database password) apart, so that --diff masks the password
    return [files.sync(name="QueueMetrics webapp", src=str(unpacked), dest=webapp, user="root",
                       group=tomcat.user, mode="0640", dir_mode="0755", delete=True, exclude=WAR_WEB_XML),
            secret_file(name="QueueMetrics WEB-INF/web.xml (JDBC_URL)", path=f"{webapp}/WEB-INF/web.xml",
                        content=(unpacked / "WEB-INF" / "web.xml").read_text(), secrets=hide,
                        user="root", group=tomcat.user, mode="0640")]


def _webapp_loway(p: Platform, tomcat: Tomcat, webapp: str, url: str) -> list:
    changed = [files.download(name="Loway's yum repository", src=host.data.get("qm_loway_repo_url"),
                              dest="/etc/yum.repos.d/loway.repo")]
    changed.append(install_packages(p, ["queuemetrics"], name="QueueMetrics (Loway's package)"))
    changed.append(context_param(name="JDBC_URL in QueueMetrics' web.xml", path=f"{webapp}/WEB-INF/web.xml",
                                 param="JDBC_URL", value=url))
    return changed


@deploy("Application server (Tomcat + QueueMetrics)")
def configure():
    """Tomcat, the webapp at /queuemetrics, its JDBC_URL; Tomcat restarted (one node at a time) on change."""
    p = current_platform()
    data = host.data
    c = cluster.current()
    mode = data.get("qm_app_mode") or "standin"
    tomcat = tomcat_for(p, mode)
    driver = jdbc_driver(mode, data.get("qm_jdbc_driver"))
    secrets = local.secrets(["db_app_password", "tomcat_keystore_password"])
    url = jdbc_url(driver, c.peer.address, data.get("qm_db_name") or "queuemetrics",
                   data.get("qm_db_app_user") or "queuemetrics", secrets["db_app_password"],
                   data.get("qm_jdbc_connect_timeout_ms") or 2000, data.get("qm_jdbc_socket_timeout_ms") or 15000)
    http_port = int(data.get("qm_tomcat_http_port") or 8080)
    https_port = int(data.get("qm_tomcat_https_port") or 8443)

    if tomcat.packages:
        install_packages(p, [*tomcat.packages, *(p.jdbc_packages if mode == "standin" else ())],
                         name="Tomcat" + (" and the MariaDB JDBC driver" if mode == "standin" else ""))
    restart_on = []
    if tomcat.user != "root":
        restart_on.append(server.user(name=f"{tomcat.user} may read the TLS keystore", user=tomcat.user,
                                      groups=[tls.GROUP], append=True, ensure_home=False, create_home=False))
    material = local.tls()
    keystore = keystore_bytes(material, secrets["tomcat_keystore_password"],
                              local.state_dir() / "tls" / "tomcat.p12")
    restart_on.append(files.put(name=KEYSTORE, src=io.BytesIO(keystore), dest=KEYSTORE, user="root",
                                group=tls.GROUP, mode="0640", create_remote_dir=False))
    restart_on.append(secret_file(
        name=f"{tomcat.conf_dir}/server.xml", path=f"{tomcat.conf_dir}/server.xml",
        content=server_xml(tomcat, c.me.address, c.peer.address, http_port, https_port,
                           secrets["tomcat_keystore_password"]),
        secrets=spellings(secrets["tomcat_keystore_password"]), user="root", group=tomcat.user, mode="0640",
    ))
    restart_on.append(files.template(
        name="Tomcat JVM options",
        src=str(TEMPLATES / "systemd/tomcat-options.conf.j2"),
        dest=f"/etc/systemd/system/{tomcat.service}.service.d/qmha.conf",
        create_remote_dir=True, xmx=data.get("qm_tomcat_xmx") or "512m",
    ))
    if mode == "standin":
        restart_on.append(files.link(name="MariaDB JDBC driver on Tomcat's class path",
                                     path=f"{tomcat.lib_dir}/{Path(p.jdbc_jar).name}", target=p.jdbc_jar))

    webapp = f"{tomcat.webapps_dir}/{CONTEXT}"
    if mode != "loway":
        files.directory(name=webapp, path=webapp, user="root", group="root", mode="0755")
    if mode == "standin":
        restart_on += _webapp_standin(tomcat, webapp, url, spellings(secrets["db_app_password"]))
    elif mode == "war":
        restart_on += _webapp_war(tomcat, webapp, url, spellings(secrets["db_app_password"]))
    else:
        restart_on += _webapp_loway(p, tomcat, webapp, url)

    # One node at a time, each waiting for its connector (Tomcat opens it once the webapp is
    # deployed), so the other node serves meanwhile.
    server.shell(
        name="Restart Tomcat after a change (one node at a time)",
        commands=[f"systemctl daemon-reload && systemctl restart {tomcat.service} && "
                  f"for i in $(seq 90); do bash -c '</dev/tcp/127.0.0.1/{http_port}' 2>/dev/null && exit 0; "
                  f"sleep 1; done; echo 'Tomcat did not open 127.0.0.1:{http_port} within 90 s' >&2; exit 1"],
        _if=any_changed(*restart_on),
        _serial=True,
    )
    systemd.service(name=f"{tomcat.service} enabled and running", service=tomcat.service,
                    running=True, enabled=True)
