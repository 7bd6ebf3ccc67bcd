"""Firewall phase: the cluster's security envelope, enforced on each node.

Open to everyone: SSH (or, with ``qm_firewall_ssh_sources``, only from those networks and always
from the peer, whose sync and preflight need it), 80 and 443. Open to the peer node only: MariaDB (3306) and Tomcat's HTTPS connector for the peer's nginx.
Everything else that arrives is dropped (nftables) or refused (firewalld). Debian uses a table of the
project's own in nftables (never ``flush ruleset``: other tools' tables, Docker's included, stay); the
EL family uses firewalld with a zone of the project's own (``qmha``) as its default zone.

Example:

.. code:: python

    from operations.phases import firewall
    firewall.configure(run)
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import StringCommand, deploy, operation
from pyinfra.operations import server

from .. import managed, mariadb, paths
from ..context import Run
from ..facts.firewall import FirewalldDefaultZone
from ..platform import install_packages
from ..render import config_file
from ..prefetch import node_fact

ZONE = "qmha"
ZONE_FILE = f"/etc/firewalld/zones/{ZONE}.xml"


def ssh_allowed_from(sources: tuple[str, ...], peer_address: str) -> list[str]:
    """Where SSH is let in from: nowhere in particular (open to all) without SOURCES; else the
    SOURCES and the peer (the configuration sync and the deploy's own peer check use SSH)."""
    if not sources:
        return []
    peer = f"{peer_address}/32"
    return list(sources) + ([] if peer in sources or peer_address in sources else [peer])


def envelope(run: Run) -> dict:
    """Ports by audience, decided from the inventory: public, SSH-only sources, peer-only."""
    ssh_port = run.me.ssh_port
    ssh_sources = ssh_allowed_from(run.knobs.qm_firewall_ssh_sources, run.peer.address)
    public = [80, 443] if ssh_sources else [ssh_port, 80, 443]
    peer = [mariadb.PORT, run.knobs.qm_tomcat_https_port]
    return {"public_ports": public, "ssh_port": ssh_port, "ssh_sources": ssh_sources,
            "peer_address": run.peer.address, "peer_ports": peer,
            # keepalived's unicast VRRP, from the peer only, where floating addresses are used
            "vrrp_from_peer": bool(run.knobs.qm_floating_addresses)}


@operation()
def firewalld_default_zone(zone: str):
    """firewalld's default zone is ZONE: every interface without a zone of its own (eth0 on a fresh
    install) gets ZONE's rules.

    .. code:: python

        firewalld_default_zone(zone="qmha")
    """
    if node_fact(host, FirewalldDefaultZone) == zone:
        host.noop(f"firewalld's default zone is {zone}")
        return
    yield StringCommand("firewall-cmd", f"--set-default-zone={zone}")


def with_firewalld(rules: dict) -> None:
    """The envelope as a zone file of the project's own, made firewalld's default zone. A whole file,
    not firewall-cmd edits, so the first run already leaves nothing else open (firewalld's defaults
    are not known before firewalld is installed) and a re-run compares one file."""
    managed.service(name="firewalld enabled and running", service="firewalld", running=True, enabled=True)
    zone = config_file("firewall/firewalld-zone.xml.j2", ZONE_FILE, rules, name=ZONE_FILE,
                       user="root", group="root", mode="644", create_remote_dir=True)
    server.shell(name="firewalld: load the changed zone", commands=["firewall-cmd --reload"],
                 _if=zone.did_change)
    firewalld_default_zone(name=f"firewalld: {ZONE} is the default zone", zone=ZONE)


def with_nftables(rules: dict) -> None:
    rules_file = paths.FIREWALL_RULES
    table = config_file("firewall/qmha.nft.j2", rules_file, rules, name=rules_file, mode="600",
                        create_remote_dir=False)  # paths.ETC: made by the base phase
    unit = config_file("firewall/qmha-firewall.service.j2", "/etc/systemd/system/qmha-firewall.service",
                       {"rules": rules_file}, name="qmha-firewall.service", create_remote_dir=False)
    managed.systemctl(name="Load the changed rules", service="qmha-firewall", command="reload-or-restart",
                      daemon_reload=True, _if=lambda: table.did_change() or unit.did_change())
    managed.service(name="qmha-firewall enabled and loaded", service="qmha-firewall", running=True, enabled=True)


BACKENDS = {"firewalld": with_firewalld, "nftables": with_nftables}


@deploy("Firewall")
def configure(run: Run):
    p = run.platform
    install_packages(p, p.firewall_packages, name="Firewall packages")
    BACKENDS[p.firewall](envelope(run))
