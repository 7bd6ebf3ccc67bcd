"""Tomcat for the QueueMetrics webapp: which Tomcat (the mode's), its server.xml, its restart.

Tomcat listens on 127.0.0.1 over HTTP for this node's nginx, and on the node address over HTTPS
(the cluster certificate in a PKCS#12 keystore, ``certificates.keystore``) for the peer's nginx
only.

Example:

.. code:: python

    from operations.phases.app import tomcat
    t = tomcat.tomcat_for(platform, "war")      # the distribution's Tomcat
    tomcat.server_xml(t, "192.168.1.5", "192.168.1.6", 8080, 8443, password)
"""

from __future__ import annotations

import re

from pyinfra.context import ctx_host
from pyinfra.facts.files import File
from pyinfra.operations import server

from ... import paths
from ...knobs import APP_MODES
from ...memo import per_run
from ...platform import Platform, Tomcat, releases_with_tomcat
from ...render import render
from ..web import FAIL_TIMEOUT_S

MODES = APP_MODES
#: how long a restarted Tomcat may take to open its HTTP connector (the webapp deployed)
START_WAIT_S = 90
#: how often a second ``answers_command`` asks
POLLS_PER_S = 5


class AppConfigError(ValueError):
    """The inventory asks for an application setup this deploy cannot make; the message says the fix."""


def tomcat_for(platform: Platform, mode: str) -> Tomcat:
    """The Tomcat of this install mode: Loway's for ``loway``, the distribution's otherwise (refused,
    naming the alternatives, on a release that packages none: EL 8)."""
    if mode not in MODES:
        raise AppConfigError(f"qm_app_mode is {mode!r}; set it to one of {', '.join(MODES)}")
    if mode == "loway":
        if platform.loway_tomcat is None:
            raise AppConfigError(f"qm_app_mode 'loway' needs Loway's yum package, which {platform.label} "
                                 "cannot install; use 'war' with a QueueMetrics WAR instead")
        return platform.loway_tomcat
    if platform.tomcat is None:
        fixes = ["set qm_app_mode = 'loway' (Loway's package brings its own Tomcat)"] \
            if platform.loway_tomcat is not None else []
        fixes.append(f"install a release that has one ({', '.join(releases_with_tomcat())})")
        raise AppConfigError(f"qm_app_mode {mode!r} runs the webapp in the distribution's Tomcat, and "
                             f"{platform.label} packages none; {', or '.join(fixes)}")
    return platform.tomcat


def allowed_addresses(addresses: list[str]) -> str:
    """A Tomcat address regex (RemoteAddrValve/RemoteIpValve) matching exactly these addresses."""
    return "|".join(re.escape(a) for a in addresses)


def server_xml(tomcat: Tomcat, node_address: str, peer_address: str, http_port: int, https_port: int,
               keystore_password: str) -> str:
    """Tomcat's server.xml: HTTP on loopback, HTTPS on the node address, only the peer let in there."""
    return render(
        "tomcat/server.xml.j2",
        tomcat=tomcat, node_address=node_address, http_port=int(http_port), https_port=int(https_port),
        keystore=paths.KEYSTORE, keystore_password=keystore_password,
        # The HTTP connector is on loopback, so only this node reaches it; over HTTPS only the peer.
        allow=allowed_addresses(["127.0.0.1", peer_address]),
        proxies=allowed_addresses(["127.0.0.1", peer_address]),
    )


def answers_command(http_port: int, seconds: int = START_WAIT_S) -> str:
    """Shell: wait (bounded) until this node's Tomcat serves the webapp (``sysup.jsp`` answers HTTP
    200 on loopback), not merely until its port is open."""
    request = f"GET /{paths.CONTEXT}/sysup.jsp HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n"
    # asked five times a second (the run goes on as soon as it serves), until SECONDS have passed
    return (f"(end=$(( $(date +%s) + {seconds} )); for i in $(seq {seconds * POLLS_PER_S}); do "
            f"timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/{http_port} && printf \"{request}\" >&3 && "
            f"head -n 1 <&3' 2>/dev/null | grep -q ' 200 ' && exit 0; [ $(date +%s) -lt $end ] || break; "
            f"sleep {1 / POLLS_PER_S}; done; "
            f"echo 'Tomcat did not serve /{paths.CONTEXT}/sysup.jsp on 127.0.0.1:{http_port} within {seconds} s' >&2; "
            "exit 1)")


def restart_way(changed: bool, routed: bool) -> str | None:
    """How Tomcat takes a change: None (nothing changed), ``"at once"`` where no nginx of ours sends
    it requests yet (ROUTED false: a fresh node, or one being rebuilt; nobody waits for it), else
    ``"one at a time"`` (the cluster serves through it: the other node must keep serving meanwhile).

    >>> restart_way(True, False), restart_way(True, True), restart_way(False, True)
    ('at once', 'one at a time', None)
    """
    if not changed:
        return None
    return "one at a time" if routed else "at once"


def restart_one_node_at_a_time(tomcat: Tomcat, http_port: int, changed: list, nginx_live: str):
    """Restart Tomcat when any of CHANGED did; the operation that starts it at once (or None when it
    cannot). Where this node's nginx already serves the cluster (NGINX_LIVE, its server blocks, is in
    place), one node at a time, each waiting (bounded) until it serves the webapp again and then
    until this node's nginx has forgotten the failure (its ``fail_timeout``): only then is the next
    node's Tomcat taken away, so no request finds this node's nginx sending everything to a peer
    that is restarting. Where it does not yet (a fresh node, or one being rebuilt), Tomcat starts at
    once, on both nodes together, and the deploy goes on while it deploys the webapp:
    ``serves_after_start`` waits for it at the end of the run (``restart_way``). Whether nginx
    routes to it is read only when something changed, once per run (before either operation has
    touched it)."""
    me = ctx_host.get()

    def way() -> str | None:
        if not any(op.did_change() for op in changed):
            return None
        routed = per_run(("nginx routes to tomcat", me.name), lambda: bool(me.get_fact(File, path=nginx_live)))
        return restart_way(True, routed)

    restart = f"systemctl daemon-reload && systemctl restart {tomcat.service}"
    started = server.shell(
        name="Start Tomcat where no nginx routes to it yet (both nodes at once)",
        commands=[restart],
        _if=lambda: way() == "at once",
    )
    server.shell(
        name="Restart Tomcat after a change (one node at a time)",
        commands=[f"{restart} && {answers_command(http_port)} && sleep {FAIL_TIMEOUT_S}"],
        _if=lambda: way() == "one at a time",
        _serial=True,
    )
    return started


def serves_after_start(http_port: int, started) -> None:
    """Wait (bounded, ``START_WAIT_S``) until a Tomcat STARTED at once (the operation
    ``restart_one_node_at_a_time`` returned) serves the webapp; the run fails if it does not."""
    if started is None:
        return
    server.shell(name="Tomcat started in this run serves the webapp", commands=[answers_command(http_port)],
                 _if=started.did_change)
