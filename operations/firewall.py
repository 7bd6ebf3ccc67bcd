"""Firewall phase: the cluster's security envelope, enforced on each node.

Open to everyone: SSH (``qm_firewall_ssh_open``; or only from ``qm_firewall_ssh_sources``), 80 and
443. Open to the peer node only: MariaDB (3306) and Tomcat's HTTPS connector for the peer's nginx.
Everything else that arrives is dropped (nftables) or refused (firewalld). Debian uses a table of the
project's own in nftables (never ``flush ruleset``: other tools' tables, Docker's included, stay); the
EL family uses firewalld with a zone of the project's own (``qmha``) as its default zone.

Example:

.. code:: python

    from operations import firewall
    firewall.configure()
"""

from __future__ import annotations

from pathlib import Path

from pyinfra import host
from pyinfra.api import FactBase, StringCommand, deploy, operation
from pyinfra.operations import files, server, systemd

from . import cluster
from .base import current_platform
from .platform import install_packages

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "firewall"
RULES = "/etc/qm-ha/firewall.nft"
ZONE = "qmha"
ZONE_FILE = f"/etc/firewalld/zones/{ZONE}.xml"


def envelope() -> dict:
    """Ports by audience, decided from the inventory: public, SSH-only sources, peer-only."""
    c = cluster.current()
    ssh_port = c.me.ssh_port
    ssh_sources = list(host.data.get("qm_firewall_ssh_sources") or [])
    public = [80, 443] if ssh_sources else [ssh_port, 80, 443]
    peer = [int(host.data.get("qm_db_port") or 3306), int(host.data.get("qm_tomcat_https_port") or 8443)]
    return {"public_ports": public, "ssh_port": ssh_port, "ssh_sources": ssh_sources,
            "peer_address": c.peer.address, "peer_ports": peer}


class FirewalldDefaultZone(FactBase):
    """firewalld's default zone (``public`` on a fresh CentOS 7), or None when firewalld is not running.

    .. code:: python

        "qmha"
    """

    def command(self) -> str:
        return "firewall-cmd --get-default-zone 2>/dev/null || true"

    def process(self, output) -> str | None:
        value = "\n".join(output).strip()
        return value or None


@operation()
def firewalld_default_zone(zone: str):
    """firewalld's default zone is ZONE: every interface without a zone of its own (eth0 on a fresh
    install) gets ZONE's rules.

    .. code:: python

        firewalld_default_zone(zone="qmha")
    """
    if host.get_fact(FirewalldDefaultZone) == zone:
        host.noop(f"firewalld's default zone is {zone}")
        return
    yield StringCommand("firewall-cmd", f"--set-default-zone={zone}")


def with_firewalld(rules: dict) -> None:
    """The envelope as a zone file of the project's own, made firewalld's default zone. A whole file,
    not firewall-cmd edits, so the first run already leaves nothing else open (firewalld's defaults
    are not known before firewalld is installed) and a re-run compares one file."""
    systemd.service(name="firewalld enabled and running", service="firewalld", running=True, enabled=True)
    zone = files.template(name=ZONE_FILE, src=str(TEMPLATES / "firewalld-zone.xml.j2"), dest=ZONE_FILE,
                          user="root", group="root", mode="644", create_remote_dir=True, **rules)
    server.shell(name="firewalld: load the changed zone", commands=["firewall-cmd --reload"],
                 _if=zone.did_change)
    firewalld_default_zone(name=f"firewalld: {ZONE} is the default zone", zone=ZONE)


def with_nftables(rules: dict) -> None:
    table = files.template(name=RULES, src=str(TEMPLATES / "qmha.nft.j2"), dest=RULES, mode="600",
                           create_remote_dir=False, **rules)  # /etc/qm-ha: made by the TLS phase
    unit = files.template(name="qmha-firewall.service", src=str(TEMPLATES / "qmha-firewall.service.j2"),
                          dest="/etc/systemd/system/qmha-firewall.service", rules=RULES, create_remote_dir=False)
    systemd.service(name="Load the changed rules", service="qmha-firewall", running=True, enabled=True,
                    reloaded=True, daemon_reload=True, _if=lambda: table.did_change() or unit.did_change())
    systemd.service(name="qmha-firewall enabled and loaded", service="qmha-firewall", running=True, enabled=True)


BACKENDS = {"firewalld": with_firewalld, "nftables": with_nftables}


@deploy("Firewall")
def configure():
    p = current_platform()
    install_packages(p, p.firewall_packages, name="Firewall packages")
    BACKENDS[p.firewall](envelope())
