"""The QueueMetrics webapp at ``/queuemetrics``, in one of three install modes, and its JDBC URL.

The webapp reaches its database through ``JDBC_URL``: this node's MariaDB first, the peer's
second, in the driver's ordered-failover form with short timeouts, so a dead database costs a
request milliseconds and a hung one at most the socket timeout.

Install modes (``qm_app_mode``):

+ ``standin``: the small webapp in ``files/queuemetrics-standin/`` with the real one's contract
  (the lab uses it; the licensed QueueMetrics cannot be shipped);
+ ``war``: a QueueMetrics WAR file or unpacked directory on the control machine (``qm_app_war``),
  unpacked here with its ``JDBC_URL`` set, staged on the node, then swapped in one node at a time
  (``rolling``);
+ ``loway``: Loway's yum repository and package (EL only), with Loway's own Tomcat.

Example:

.. code:: python

    from operations.phases.app import webapp
    webapp.jdbc_url("mariadb", "192.168.1.6", "queuemetrics", "queuemetrics", "secret", 2000, 15000)
    # 'jdbc:mariadb:sequential://127.0.0.1:3306,192.168.1.6:3306/queuemetrics?user=...'
"""

from __future__ import annotations

import hashlib
import re
import shutil
import zipfile
from pathlib import Path
from urllib.parse import quote_plus, urlencode
from xml.sax.saxutils import escape


from pyinfra import host
from pyinfra.api import QuoteString, StringCommand, operation
from pyinfra.api.hiddenvalue import HiddenValue
from pyinfra.facts.files import File, FileContents
from pyinfra.operations import files
from pyinfra.operations.util.files import chmod, chown, ensure_mode_int

from ... import managed, paths
from ...atomic import identity as file_identity
from ...context import Run
from ...facts.webapp import PARAM_SCRIPT, PYTHON, ContextParam, StagedWebappPending
from ...knobs import JDBC_DRIVERS
from ...mariadb import PORT
from ...platform import Platform, Tomcat, install_packages
from ...render import render
from ...secret_files import secret_file
from ...prefetch import node_fact
from . import rolling
from .tomcat import AppConfigError

DRIVERS = JDBC_DRIVERS
#: the webapp's descriptor (it holds the database password: installed apart, masked in --diff) and its
#: settings (QueueMetrics and the sync own them once installed): never synced from the WAR
WEB_XML = "WEB-INF/web.xml"
PROPERTIES = "WEB-INF/configuration.properties"
WAR_APART = (f"*/{WEB_XML}", f"*/{PROPERTIES}")
#: the stand-in's files copied as they are (web.xml is rendered from the template, the properties seeded)
STANDIN_FILES = ("sysup.jsp", "probe.jsp")
#: left as they are in JDBC_URL values: MariaDB Connector/J 2.x does not decode a value (a path to a
#: certificate must keep its slashes)
PATH_SAFE = "/:"


def jdbc_driver(mode: str, configured: str | None) -> str:
    """The JDBC_URL form: the knob when set, else MariaDB's for the stand-in, MySQL's for QueueMetrics.

    QueueMetrics ships MySQL Connector/J; the stand-in uses the distribution's MariaDB Connector/J.
    """
    driver = configured or ("mariadb" if mode == "standin" else "mysql")
    if driver not in DRIVERS:
        raise AppConfigError(f"qm_jdbc_driver is {driver!r}; set it to one of {', '.join(DRIVERS)}")
    return driver


def jdbc_url(driver: str, peer_address: str, database: str, user: str, password: str,
             connect_timeout_ms: int, socket_timeout_ms: int, port: int = PORT,
             pinned_cert: str = paths.TLS["cert"], truststore: str = paths.JDBC_TRUSTSTORE) -> str:
    """The webapp's JDBC_URL: this node's database first, the peer's second, short timeouts, TLS.

    + driver: "mariadb" (MariaDB Connector/J 2.x: ``sequential`` tries the hosts in order) or
      "mysql" (MySQL Connector/J: the host list is ordered failover; ``failOverReadOnly=false``
      keeps the connection writable on the peer)
    + connect_timeout_ms: how long a connection attempt to a dead host may take
    + socket_timeout_ms: how long a query may wait for an answer (a hung database costs this);
      it must exceed the longest report query
    + pinned_cert, truststore: the cluster certificate on the node, as PEM (MariaDB's driver) and as a
      Java truststore (MySQL's): the one certificate a database may present

    The hop to the peer crosses the network, so the connection is TLS and the server must present
    the cluster certificate itself (pinned: not any certificate a public CA issued for some name);
    the peer's account requires it (``REQUIRE SSL``). Neither driver sets TLS per host in a failover
    URL, so the local hop is TLS too, checked the same way (no name check: 127.0.0.1 is in no
    bought certificate; the pin is stricter than a name).

    QueueMetrics reads the user and password from the URL, so they are in it.
    """
    hosts = f"127.0.0.1:{port},{peer_address}:{port}"
    timeouts = {"connectTimeout": int(connect_timeout_ms), "socketTimeout": int(socket_timeout_ms)}
    if driver == "mariadb":
        tls = {"useSSL": "true", "serverSslCert": pinned_cert, "disableSslHostnameVerification": "true"}
        params = {"user": user, "password": password, **timeouts, **tls}
        return f"jdbc:mariadb:sequential://{hosts}/{database}?{urlencode(params, safe=PATH_SAFE)}"
    if driver == "mysql":
        # sslMode for Connector/J 8 and later; the three flags for 5.1 (8 ignores them beside sslMode)
        tls = {"sslMode": "VERIFY_CA", "useSSL": "true", "requireSSL": "true", "verifyServerCertificate": "true",
               "trustCertificateKeyStoreUrl": f"file:{truststore}", "trustCertificateKeyStoreType": "PKCS12",
               "enabledTLSProtocols": "TLSv1.2"}
        params = {"zeroDateTimeBehavior": "convertToNull", "jdbcCompliantTruncation": "false",
                  "failOverReadOnly": "false", **timeouts, **tls, "user": user, "password": password}
        return f"jdbc:mysql://{hosts}/{database}?{urlencode(params, safe=PATH_SAFE)}"
    raise AppConfigError(f"unknown JDBC driver {driver!r}; use one of {', '.join(DRIVERS)}")


def spellings(secret: str) -> list[str]:
    """SECRET as it may appear in a file: as is, URL-encoded (in a JDBC URL) and XML-escaped."""
    return [secret, quote_plus(secret), escape(quote_plus(secret)), escape(secret, {'"': "&quot;"})]


def web_xml_standin(url: str, licence: str = "") -> str:
    """The stand-in webapp's WEB-INF/web.xml with JDBC_URL set to URL and the licence key LICENCE."""
    return render("queuemetrics/web.xml.j2", jdbc_url=url, licence=licence or "")


#: the context parameter of WEB-INF/web.xml QueueMetrics reads its licence key from
LICENCE_PARAM = "LICENZA_ARCHITETTURA"


def licence_env(host_name: str) -> str:
    """``QMHA_LICENCE_<HOST>``: the environment variable that gives HOST_NAME's licence key."""
    return "QMHA_LICENCE_" + re.sub(r"[^A-Za-z0-9]", "_", host_name).upper()


def context_value(web_xml: str, name: str) -> str | None:
    """The value of context parameter NAME in WEB_XML's text (XML entities undone), or None."""
    from xml.sax.saxutils import unescape

    match = re.search(r"<param-name>\s*" + re.escape(name) + r"\s*</param-name>\s*<param-value>(.*?)</param-value>",
                      web_xml, re.S)
    return unescape(match.group(1)).strip() if match else None


def imported_licence(web_xml_file: str | None) -> str | None:
    """The licence key of the QueueMetrics being converted (its old web.xml), or None."""
    if not web_xml_file:
        return None
    return context_value(Path(web_xml_file).read_text(errors="replace"), LICENCE_PARAM) or None


def licence_key(host_name: str, licence_file: str | None, environ=None) -> str | None:
    """HOST_NAME's licence key: ``QMHA_LICENCE_<HOST>`` from the environment, else the first line of
    LICENCE_FILE; None when neither gives one (the node keeps the key it has)."""
    import os

    environ = os.environ if environ is None else environ
    value = environ.get(licence_env(host_name)) or (Path(licence_file).read_text() if licence_file else "")
    value = value.strip()
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        where = licence_env(host_name) if environ.get(licence_env(host_name)) else licence_file
        raise AppConfigError(f"the licence key in {where} is not one word; "
                             "put the key alone there, on one line")
    return value or None


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


def unpack_war(war: Path, work_dir: Path, jdbc_url_value: str, params: dict[str, str] | None = None) -> Path:
    """The customer's WAR (file or directory) unpacked into WORK_DIR with JDBC_URL (and the other
    context parameters PARAMS) set; its path.

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
        work_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
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
    text = set_context_param(web_xml.read_text(), "JDBC_URL", jdbc_url_value)
    for name, value in (params or {}).items():
        text = set_context_param(text, name, value)
    web_xml.write_text(text)
    return target


@operation()
def context_param(path: str, param: str, value: str | None):
    """Set context parameter PARAM of the web.xml at PATH (installed by a package) to VALUE
    (None: leave it as it is).

    + path: WEB-INF/web.xml on the node; it may appear only during this run (package install)
    """
    if value is None:
        host.noop(f"{param} in {path} is left as it is")
        return
    if node_fact(host, ContextParam, path=path, param=param) == value:
        host.noop(f"{param} in {path} is already set")
        return
    yield StringCommand(PYTHON, "-c", QuoteString(PARAM_SCRIPT), QuoteString(path), QuoteString(param),
                        QuoteString(HiddenValue(value)))


@operation()
def seeded_file(src: str, dest: str, user: str, group: str, mode: str, create_remote_dir: bool = False):
    """DEST from SRC only while DEST is missing: once there, its content belongs to QueueMetrics and
    the sync and is never put back; only its owner and mode are kept as given, so the webapp can
    save it.

    .. code:: python

        seeded_file(src="files/queuemetrics-standin/WEB-INF/configuration.properties",
                    dest=".../WEB-INF/configuration.properties", user="tomcat", group="tomcat", mode="640")
    """
    remote = node_fact(host, File, path=dest)
    if not remote:
        yield from files.put._inner(src=src, dest=dest, user=user, group=group, mode=mode,
                                    create_remote_dir=create_remote_dir)
        return
    wrong_mode = remote["mode"] != ensure_mode_int(mode)
    wrong_owner = remote["user"] != user or remote["group"] != group
    if not (wrong_mode or wrong_owner):
        host.noop(f"{dest} is there: its content is QueueMetrics' own")
    if wrong_mode:
        yield chmod(dest, mode)
    if wrong_owner:
        yield chown(dest, user, group)


@operation()
def imported_once(src: str, dest: str, marker: str, user: str, group: str, mode: str):
    """DEST replaced by SRC (the converted installation's file) once: MARKER records which file, so
    later runs leave what QueueMetrics saved since alone. The copy it replaces is kept beside it
    (``<dest>.before-import``).

    .. code:: python

        imported_once(src="old/configuration.properties", dest=".../configuration.properties",
                      marker="/var/lib/qm-ha/properties-imported", user="tomcat", group="tomcat", mode="640")
    """
    identity = file_identity(src)
    if (node_fact(host, FileContents, path=marker) or [None])[0] == identity:
        host.noop(f"{src} was put on this node already")
        return
    if node_fact(host, File, path=dest):
        yield StringCommand("cp", "-p", QuoteString(dest), QuoteString(f"{dest}.before-import"))
    yield from files.put._inner(src=src, dest=dest, user=user, group=group, mode=mode, create_remote_dir=False)
    yield StringCommand("printf", "'%s\\n'", QuoteString(identity), ">", QuoteString(marker))


def war_names(unpacked: Path) -> list[str]:
    """The WAR's files relative to its root, sorted, without the two installed apart."""
    apart = {WEB_XML, PROPERTIES}
    return sorted(str(p.relative_to(unpacked)) for p in unpacked.rglob("*")
                  if p.is_file() and str(p.relative_to(unpacked)) not in apart)


def standin(tomcat: Tomcat, webapp: str, url: str, hide: list[str], licence: str | None) -> list:
    """The lab's stand-in webapp at WEBAPP, its web.xml holding URL and LICENCE (HIDE masked in --diff)."""
    changed = [managed.directory(name=f"{webapp}/WEB-INF", path=f"{webapp}/WEB-INF", user="root",
                               group="root", mode="0755")]
    for rel in STANDIN_FILES:
        changed.append(managed.put(name=f"Stand-in {rel}", src=str(paths.STANDIN / rel), dest=f"{webapp}/{rel}",
                                 user="root", group="root", mode="0644", create_remote_dir=False))
    seeded_file(name=f"Stand-in {PROPERTIES} (installed once)", src=str(paths.STANDIN / PROPERTIES),
                dest=f"{webapp}/{PROPERTIES}", user=tomcat.user, group=tomcat.user, mode=paths.PROPERTIES_MODE)
    changed.append(secret_file(name="Stand-in WEB-INF/web.xml (JDBC_URL)", path=f"{webapp}/WEB-INF/web.xml",
                               content=web_xml_standin(url, licence), secrets=hide,
                               user="root", group=tomcat.user, mode="0640"))
    return changed


def war(tomcat: Tomcat, webapp: str, url: str, hide: list[str], run: Run, licence: str | None) -> list:
    """The customer's WAR, unpacked on this machine with URL (and LICENCE) set, rolled out to WEBAPP:
    staged on both nodes, then swapped in one node at a time (``rolling``). The operations a
    Tomcat restart follows: the web.xml, when the WAR itself is the one running."""
    source = run.knobs.qm_app_war
    if not source:
        raise AppConfigError("qm_app_mode is 'war' but qm_app_war is not set; point it at the "
                             "QueueMetrics WAR file or unpacked directory on this machine")
    unpacked = unpack_war(Path(source), paths.control_webapp(run.control_dir, host.name), url,
                          {LICENCE_PARAM: licence} if licence else {})
    identity = rolling.war_identity(Path(source).expanduser())
    state = node_fact(host, StagedWebappPending)
    plan = rolling.war_plan(identity, state["staged"], state["running"])
    web_xml = (unpacked / WEB_XML).read_text()
    # the settings: installed once (before the first start), then QueueMetrics' and the sync's
    if (unpacked / PROPERTIES).exists():
        seeded_file(name=f"QueueMetrics {PROPERTIES} (installed once)", src=str(unpacked / PROPERTIES),
                    dest=f"{webapp}/{PROPERTIES}", user=tomcat.user, group=tomcat.user, mode=paths.PROPERTIES_MODE,
                    create_remote_dir=True)
    if plan == rolling.NOTHING:
        # web.xml (it holds the database password) apart, so that --diff masks the password
        return [secret_file(name="QueueMetrics WEB-INF/web.xml (JDBC_URL)", path=f"{webapp}/{WEB_XML}",
                            content=web_xml, secrets=hide, user="root", group=tomcat.user, mode="0640")]
    rolling.stage(tomcat, unpacked, war_names(unpacked), identity, state["staged"], web_xml, hide, list(WAR_APART))
    order = rolling.roll_order(n.host_name for n in run.cluster.nodes)
    for node in order:  # one operation per node, in this order: node A's swap runs before node B's
        rolling.swap(name=f"New WAR swapped in on {node} (one node at a time)", node=node, me=host.name,
                     command=rolling.swap_command(tomcat.service, webapp, identity, run.knobs.qm_tomcat_http_port,
                                                  run.platform.db_client, run.knobs.qm_db_name, node,
                                                  rolling.waits_for(node, order)))
    return []


def loway_package(p: Platform, repo_url: str) -> list:
    """Loway's repository and package: QueueMetrics with its own Tomcat (whose conf/ and webapps/
    exist only after this), so it comes before anything is written there."""
    return [files.download(name="Loway's yum repository", src=repo_url, dest="/etc/yum.repos.d/loway.repo"),
            install_packages(p, ["queuemetrics"], name="QueueMetrics (Loway's package)")]


def loway_jdbc(webapp: str, url: str, licence: str | None) -> list:
    """JDBC_URL (and LICENCE) set in the web.xml Loway's package installed (an error when there is none)."""
    return [context_param(name="JDBC_URL in QueueMetrics' web.xml", path=f"{webapp}/{WEB_XML}",
                          param="JDBC_URL", value=url),
            context_param(name="Licence key in QueueMetrics' web.xml", path=f"{webapp}/{WEB_XML}",
                          param=LICENCE_PARAM, value=licence)]
