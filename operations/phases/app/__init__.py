"""Application phase: Tomcat with the QueueMetrics webapp at ``/queuemetrics`` and its JDBC URL.

+ ``tomcat``: which Tomcat (the distribution's, or Loway's in ``loway`` mode), its server.xml
  and its restart, one node at a time;
+ ``webapp``: the three install modes (``standin``, ``war``, ``loway``) and the JDBC URL;
+ the keystore for Tomcat's HTTPS connector is built by ``certificates.keystore``.

Example:

.. code:: python

    from operations.phases import app
    app.configure(run)
"""

from __future__ import annotations

import io
from pathlib import Path

from pyinfra import host
from pyinfra.api import deploy

from ... import certificates, managed, paths
from ...context import Run
from ...memo import per_run
from ...facts.webapp import ContextParam
from ...platform import install_packages
from ...render import config_file
from ...secret_files import secret_file
from ...prefetch import node_fact
from ..tls import GROUP
from ..web import CONF_NAME
from . import webapp
from .tomcat import AppConfigError, restart_one_node_at_a_time, server_xml, serves_after_start, tomcat_for

__all__ = ["AppConfigError", "configure", "serving"]


@deploy("Application server (Tomcat + QueueMetrics)")
def configure(run: Run):
    """Tomcat, the webapp at /queuemetrics, its JDBC_URL; Tomcat restarted (one node at a time) on change,
    or started at once where no nginx routes to it yet: that operation is returned, for ``serving``."""
    p, k, secrets = run.platform, run.knobs, run.secrets
    mode = k.qm_app_mode
    tomcat = tomcat_for(p, mode)
    driver = webapp.jdbc_driver(mode, k.qm_jdbc_driver)
    url = webapp.jdbc_url(driver, run.peer.address, k.qm_db_name, k.qm_db_app_user, secrets["db_app_password"],
                          k.qm_jdbc_connect_timeout_ms, k.qm_jdbc_socket_timeout_ms)

    restart_on = []
    if tomcat.packages:
        install_packages(p, [*tomcat.packages, *(p.jdbc_packages if mode == "standin" else ())],
                         name="Tomcat" + (" and the MariaDB JDBC driver" if mode == "standin" else ""))
    if mode == "loway":  # Loway's Tomcat comes with the package: before its conf/ is written
        restart_on += webapp.loway_package(p, k.qm_loway_repo_url)
    if tomcat.user != "root":
        restart_on.append(managed.user(name=f"{tomcat.user} may read the TLS keystore", user=tomcat.user,
                                      groups=[GROUP], append=True, ensure_home=False, create_home=False))
    store = paths.control_tls(run.control_dir) / "tomcat.p12"  # one for the cluster: read once a run
    keystore = per_run(("tomcat keystore", str(store)),
                       lambda: certificates.keystore(run.tls, secrets["tomcat_keystore_password"], store))
    restart_on.append(managed.put(name=paths.KEYSTORE, src=io.BytesIO(keystore), dest=paths.KEYSTORE, user="root",
                                group=GROUP, mode="0640", create_remote_dir=False))
    if driver == "mysql":  # MySQL Connector/J trusts a Java truststore; MariaDB's reads the PEM certificate
        trust = certificates.truststore(run.tls, paths.control_tls(run.control_dir) / "jdbc-trust.p12")
        restart_on.append(managed.put(name=paths.JDBC_TRUSTSTORE, src=io.BytesIO(trust), dest=paths.JDBC_TRUSTSTORE,
                                    user="root", group=GROUP, mode="0644", create_remote_dir=False))
    restart_on.append(secret_file(
        name=f"{tomcat.conf_dir}/server.xml", path=f"{tomcat.conf_dir}/server.xml",
        content=server_xml(tomcat, run.me.address, run.peer.address, k.qm_tomcat_http_port,
                           k.qm_tomcat_https_port, secrets["tomcat_keystore_password"]),
        secrets=webapp.spellings(secrets["tomcat_keystore_password"]), user="root", group=tomcat.user,
        mode="0640",
    ))
    restart_on.append(config_file(
        "systemd/tomcat-options.conf.j2", f"/etc/systemd/system/{tomcat.service}.service.d/qmha.conf",
        {"xmx": k.qm_tomcat_xmx}, name="Tomcat JVM options", create_remote_dir=True,
    ))
    if mode == "standin":
        restart_on.append(managed.link(name="MariaDB JDBC driver on Tomcat's class path",
                                     path=f"{tomcat.lib_dir}/{Path(p.jdbc_jar).name}", target=p.jdbc_jar))

    webapp_dir = paths.webapp_dir(tomcat.webapps_dir)
    # the key the inventory gives this node, else the one it has (entered on QueueMetrics' licence page)
    # (node A, converting an existing QueueMetrics: the licence its old web.xml holds)
    licence = webapp.licence_key(host.name, k.qm_licence_file) or \
        (webapp.imported_licence(k.qm_import_web_xml) if run.index == 0 else None) or \
        node_fact(host, ContextParam, path=f"{webapp_dir}/{webapp.WEB_XML}", param=webapp.LICENCE_PARAM)
    hide = webapp.spellings(secrets["db_app_password"]) + ([licence] if licence else [])
    if mode == "standin":  # (a WAR's sync owns its folder; Loway's package its own)
        managed.directory(name=webapp_dir, path=webapp_dir, user="root", group="root", mode="0755")
        restart_on += webapp.standin(tomcat, webapp_dir, url, hide, licence)
    elif mode == "war":
        restart_on += webapp.war(tomcat, webapp_dir, url, hide, run, licence)
    else:
        restart_on += webapp.loway_jdbc(webapp_dir, url, licence)

    if k.qm_import_properties:  # converting an existing QueueMetrics: its settings, on both nodes, once
        webapp.imported_once(name="The converted installation's configuration.properties (once)",
                             src=k.qm_import_properties, dest=f"{webapp_dir}/{webapp.PROPERTIES}",
                             marker=paths.PROPERTIES_MARKER, user=tomcat.user, group=tomcat.user,
                             mode=paths.PROPERTIES_MODE)

    started = restart_one_node_at_a_time(tomcat, k.qm_tomcat_http_port, restart_on, f"{p.nginx.conf_d}/{CONF_NAME}")
    managed.service(name=f"{tomcat.service} enabled and running", service=tomcat.service,
                    running=True, enabled=True)
    return started


@deploy("Application server (Tomcat + QueueMetrics)")
def serving(run: Run, started) -> None:
    """At the end of the run: a Tomcat that STARTED (``configure``'s result) at once serves the
    webapp (waited for, bounded); the phases between went on while it deployed it."""
    serves_after_start(run.knobs.qm_tomcat_http_port, started)
