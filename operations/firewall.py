"""Firewall phase: the cluster's security envelope, enforced on each node.

Open to everyone: SSH (``qm_firewall_ssh_open``; or only from ``qm_firewall_ssh_sources``), 80 and
443. Open to the peer node only: MariaDB (3306) and Tomcat's HTTPS connector for the peer's nginx.
Everything else that arrives is dropped. Debian uses a table of the project's own in nftables (never
``flush ruleset``: other tools' tables, Docker's included, stay); the EL family uses firewalld.

Example:

.. code:: python

    from operations import firewall
    firewall.configure()
"""

from __future__ import annotations

from pathlib import Path

from pyinfra import host
from pyinfra.api import FactBase, StringCommand, deploy, operation
from pyinfra.operations import files, systemd

from . import cluster
from .base import current_platform
from .platform import install_packages

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "firewall"
RULES = "/etc/qm-ha/firewall.nft"


def envelope() -> dict:
    """Ports by audience, decided from the inventory: public, SSH-only sources, peer-only."""
    c = cluster.current()
    ssh_port = c.me.ssh_port
    ssh_sources = list(host.data.get("qm_firewall_ssh_sources") or [])
    public = [80, 443] if ssh_sources else [ssh_port, 80, 443]
    peer = [int(host.data.get("qm_db_port") or 3306), int(host.data.get("qm_tomcat_https_port") or 8443)]
    return {"public_ports": public, "ssh_port": ssh_port, "ssh_sources": ssh_sources,
            "peer_address": c.peer.address, "peer_ports": peer}


class FirewalldZone(FactBase):
    """firewalld's permanent configuration of the default zone: services, ports, rich rules."""

    def command(self) -> str:
        return "firewall-cmd --permanent --list-all 2>/dev/null || true"

    @staticmethod
    def default() -> dict:
        return {"services": [], "ports": [], "rich rules": []}

    def process(self, output) -> dict:
        zone = self.default()
        key = None
        for line in output:
            stripped = line.strip()
            if ":" in stripped and not stripped.startswith("rule "):
                key, _, value = stripped.partition(":")
                key = key.strip()
                if key in zone:
                    zone[key] = value.split()
                    if key == "rich rules":
                        zone[key] = []
            elif key == "rich rules" and stripped.startswith("rule "):
                zone["rich rules"].append(stripped)
        return zone


def rich_rule(source: str, port: int) -> str:
    return f'rule family="ipv4" source address="{source}" port port="{port}" protocol="tcp" accept'


@operation()
def firewalld_envelope(public_ports: list[int], peer_address: str, peer_ports: list[int],
                       ssh_port: int, ssh_sources: list[str]):
    """Make firewalld's permanent default zone exactly the envelope, then reload it.

    .. code:: python

        firewalld_envelope(public_ports=[22, 80, 443], peer_address="192.168.1.6",
                           peer_ports=[3306, 8443], ssh_port=22, ssh_sources=[])
    """
    zone = host.get_fact(FirewalldZone)
    wanted_ports = [f"{p}/tcp" for p in public_ports]
    wanted_rules = [rich_rule(peer_address, p) for p in peer_ports] + [rich_rule(s, ssh_port) for s in ssh_sources]
    commands = []
    for service in zone["services"]:
        commands.append(StringCommand("firewall-cmd", "--permanent", f"--remove-service={service}"))
    for port in wanted_ports:
        if port not in zone["ports"]:
            commands.append(StringCommand("firewall-cmd", "--permanent", f"--add-port={port}"))
    for port in zone["ports"]:
        if port not in wanted_ports:
            commands.append(StringCommand("firewall-cmd", "--permanent", f"--remove-port={port}"))
    for rule in wanted_rules:
        if rule not in zone["rich rules"]:
            commands.append(StringCommand("firewall-cmd", "--permanent", "--add-rich-rule", f"'{rule}'"))
    for rule in zone["rich rules"]:
        if rule not in wanted_rules:
            commands.append(StringCommand("firewall-cmd", "--permanent", "--remove-rich-rule", f"'{rule}'"))
    if not commands:
        host.noop("firewalld already holds the envelope")
        return
    yield from commands
    yield "firewall-cmd --reload"


def with_firewalld(rules: dict) -> None:
    systemd.service(name="firewalld enabled and running", service="firewalld", running=True, enabled=True)
    firewalld_envelope(name="firewalld: the cluster's envelope", **rules)


def with_nftables(rules: dict) -> None:
    table = files.template(name=RULES, src=str(TEMPLATES / "qmha.nft.j2"), dest=RULES, mode="600", **rules)
    unit = files.template(name="qmha-firewall.service", src=str(TEMPLATES / "qmha-firewall.service.j2"),
                          dest="/etc/systemd/system/qmha-firewall.service", rules=RULES)
    systemd.service(name="Load the changed rules", service="qmha-firewall", running=True, enabled=True,
                    reloaded=True, daemon_reload=True, _if=lambda: table.did_change() or unit.did_change())
    systemd.service(name="qmha-firewall enabled and loaded", service="qmha-firewall", running=True, enabled=True)


BACKENDS = {"firewalld": with_firewalld, "nftables": with_nftables}


@deploy("Firewall")
def configure():
    p = current_platform()
    install_packages(p, p.firewall_packages, name="Firewall packages")
    BACKENDS[p.firewall](envelope())
