"""Web phase: nginx terminates TLS for the cluster FQDN and the node FQDN, and passes requests to
this node's Tomcat first and to the peer's Tomcat (over TLS, certificate verified) when the local
one refuses, times out or answers 502/503.

The configuration is checked with ``nginx -t`` before it goes live: a configuration nginx rejects
is put back to the previous one, and the running nginx never sees it.

Example:

.. code:: python

    from operations.phases import web
    web.configure(run, tls_files)     # tls_files = tls.configure(run)
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from pyinfra import host
from pyinfra.api import QuoteString, StringCommand, deploy, operation
from pyinfra.facts.files import Sha1File
from pyinfra.operations.util import any_changed


from .. import managed, paths
from ..cluster import Cluster
from ..context import Run
from ..knobs import Knobs
from ..platform import Platform, install_packages
from ..render import render
from ..prefetch import node_fact

CONF_NAME = "qmha.conf"
#: how long nginx leaves a Tomcat that failed alone before it tries it again
FAIL_TIMEOUT_S = 10


def nginx_conf(c: Cluster, p: Platform, k: Knobs, ca_known: bool = True) -> str:
    """nginx's server blocks for node ``c.me`` of cluster C, from the template and the knobs K."""
    peer = c.peer
    return render(
        "nginx/qmha.conf.j2",
        node_fqdn=c.me.fqdn,
        peer_fqdn=peer.fqdn,
        peer_address=peer.address,
        server_names=[c.fqdn, c.me.fqdn],
        tomcat_http_port=k.qm_tomcat_http_port,
        tomcat_https_port=k.qm_tomcat_https_port,
        hop_port=k.qm_web_peer_hop_port,
        connect_timeout_s=k.qm_web_connect_timeout_s,
        read_timeout_s=k.qm_web_read_timeout_s,
        fail_timeout_s=FAIL_TIMEOUT_S,
        hsts_max_age=k.qm_hsts_max_age,
        tls_chain=paths.TLS["chain"],
        tls_key=paths.TLS["key"],
        # A customer certificate from a public CA comes without a CA file: trust the system's CAs.
        trusted_ca=paths.TLS["ca"] if ca_known else p.nginx.system_ca_bundle,
    )


@operation()
def activate(candidate: str, live: str, sha1: str, service: str = "nginx"):
    """Make CANDIDATE (whose SHA-1 is SHA1) nginx's live file LIVE if ``nginx -t`` accepts it, then reload.

    When nginx rejects it, LIVE is put back as it was, nginx keeps running on the previous
    configuration and the operation fails with nginx's message.
    """
    if node_fact(host, Sha1File, path=live) == sha1:
        host.noop(f"{live} is already active")
        return
    yield activate_command(candidate, live, service)


def activate_command(candidate: str, live: str, service: str = "nginx") -> StringCommand:
    """Shell command: CANDIDATE becomes LIVE and nginx reloads, or LIVE is restored and it fails."""
    previous = f"{paths.NGINX_STAGING}/{Path(live).name}.previous"
    return StringCommand(
        "if [ -f", QuoteString(live), "]; then cp -p", QuoteString(live), QuoteString(previous),
        "; else rm -f", QuoteString(previous), "; fi &&",
        "cp", QuoteString(candidate), QuoteString(live), "&& chmod 0644", QuoteString(live), "&&",
        "if nginx -t; then systemctl reload-or-restart", QuoteString(service), "; else",
        "if [ -f", QuoteString(previous), "]; then cp -p", QuoteString(previous), QuoteString(live),
        "; else rm -f", QuoteString(live), "; fi;",
        "echo 'nginx rejected the new configuration; the previous one stays active' >&2; exit 1; fi",
    )


@deploy("Web server (nginx)")
def configure(run: Run, tls_files: list = ()):
    """nginx installed, the cluster's server blocks live, nginx enabled and running; reloaded when
    the TLS files (TLS_FILES, the operations of ``tls.configure``) change."""
    p = run.platform
    if p.nginx.repo_packages:
        install_packages(p, p.nginx.repo_packages, name="Repository for nginx")
    install_packages(p, p.nginx.packages, name="nginx")
    no_default = None
    if p.nginx.default_site_link:
        no_default = managed.link(name="No default site", path=p.nginx.default_site_link, present=False)
    text = nginx_conf(run.cluster, p, run.knobs, ca_known=run.tls.ca_path is not None)
    managed.directory(name=paths.NGINX_STAGING, path=paths.NGINX_STAGING, user="root", group="root", mode="0755")
    candidate = f"{paths.NGINX_STAGING}/{CONF_NAME}"
    managed.put(name="nginx configuration (candidate)", src=io.StringIO(text), dest=candidate,
              user="root", group="root", mode="0644", create_remote_dir=False)
    activate(name="nginx configuration checked and live", candidate=candidate,
             live=f"{p.nginx.conf_d}/{CONF_NAME}", sha1=hashlib.sha1(text.encode()).hexdigest(),
             service=p.nginx.service)
    if no_default is not None:
        managed.systemctl(name="Reload nginx without the default site", service=p.nginx.service,
                          command="try-reload-or-restart", _if=no_default.did_change)
    managed.service(name=f"{p.nginx.service} enabled and running", service=p.nginx.service,
                    running=True, enabled=True)
    if tls_files:
        managed.systemctl(name="Reload nginx for the new TLS material", service=p.nginx.service,
                          command="try-reload-or-restart", _if=any_changed(*tls_files))
