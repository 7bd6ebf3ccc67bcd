"""Floating phase: keepalived moves a node's floating address to its peer when the node dies,
freezes, or its nginx cannot serve the app (``qm_floating_addresses``; unset: plain round robin,
and a keepalived this phase set up before is stopped). Who holds what: ``operations/floating.py``.

Example:

.. code:: python

    from operations.phases import floating
    floating.configure(run)     # in deploy.py, after the web phase (the check asks nginx)
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.hardware import NetworkDevices

from pyinfra.operations.util import any_changed

from .. import floating, managed, paths
from ..context import Run
from ..platform import install_packages
from ..render import config_file, render
from ..secret_files import secret_file
from ..prefetch import node_fact

PACKAGE = "keepalived"
SERVICE = "keepalived.service"


def prefix_length(interface: str) -> int:
    """The mask of this node's address on INTERFACE (the floating addresses share its subnet)."""
    device = node_fact(host, NetworkDevices).get(interface) or {}
    return int((device.get("ipv4") or {}).get("mask_bits") or 24)


def keepalived_conf(run: Run, prefix: int, password: str) -> str:
    """keepalived's configuration for this node (see templates/keepalived/keepalived.conf.j2)."""
    k, c = run.knobs, run.cluster
    return render("keepalived/keepalived.conf.j2", node_fqdn=run.me.fqdn, peer_fqdn=run.peer.fqdn,
                  router_name=run.me.fqdn.split(".", 1)[0], check_script=paths.WEB_CHECK_SCRIPT,
                  interval=floating.CHECK_INTERVAL_S, timeout=floating.CHECK_TIMEOUT_S, fall=floating.CHECK_FALL,
                  rise=floating.CHECK_RISE, weight=floating.CHECK_WEIGHT,
                  instances=floating.vrrp_instances(run.index, k.qm_floating_addresses, k.qm_vrrp_router_id),
                  interface=k.qm_interface, advert=floating.ADVERT_S, me=run.me.address, peer=run.peer.address,
                  password=password, prefix=prefix)


@deploy("Floating addresses (keepalived)")
def configure(run: Run):
    """keepalived with this node's configuration and web check, running; or, without floating
    addresses, a keepalived left from an earlier run stopped and disabled."""
    k = run.knobs
    if not k.qm_floating_addresses:
        managed.service(name=f"{SERVICE} off (no floating addresses)", service=SERVICE, running=False,
                        enabled=False)
        return
    installed = install_packages(run.platform, (PACKAGE,), name="keepalived package")
    check = config_file("keepalived/qmha-web-check.sh.j2", paths.WEB_CHECK_SCRIPT,
                        {"timeout": floating.CHECK_TIMEOUT_S, "ca": paths.TLS["ca"], "cluster_fqdn": run.cluster.fqdn,
                         "context": paths.CONTEXT},
                        name=paths.WEB_CHECK_SCRIPT, user="root", group="root", mode="0700", create_remote_dir=False)
    password = floating.vrrp_password(run.secrets["vrrp_password"])
    managed.directory(name="/etc/keepalived", path="/etc/keepalived", user="root", group="root", mode="0755")
    conf = secret_file(name=paths.KEEPALIVED_CONF, path=paths.KEEPALIVED_CONF,
                       content=keepalived_conf(run, prefix_length(k.qm_interface), password), secrets=[password])
    managed.systemctl(name=f"Restart {SERVICE} after a change", service=SERVICE, command="restart",
                      _if=any_changed(installed, check, conf))
    managed.service(name=f"{SERVICE} running", service=SERVICE, running=True, enabled=True)
