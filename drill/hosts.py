"""From a pyinfra inventory to testinfra hosts: the same inventory drives the deploy, the checks and the drill.

pyinfra's inventory data (``ssh_hostname``, ``ssh_port``, ``ssh_user``, ``ssh_key``,
``ssh_known_hosts_file``, ``_sudo``) becomes an OpenSSH config, so testinfra's ``ssh`` backend
reaches each node exactly as the deploy did, host keys pinned where the inventory pins them.

Example:

.. code:: python

    hosts = inventory_hosts("inventories/customer.py")
    Path("ssh_config").write_text(ssh_config(hosts))
    node = testinfra_host(hosts[0], Path("ssh_config"))
    node.service("nginx").is_running
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import testinfra
from pyinfra.api import State
from pyinfra.context import ctx_state
from pyinfra_cli.inventory import make_inventory

GROUP_DATA = Path(__file__).resolve().parent.parent / "inventories" / "group_data"


@dataclass(frozen=True)
class InventoryHost:
    name: str
    data: dict


def inventory_hosts(inventory_file: str | Path) -> list[InventoryHost]:
    """The inventory's hosts with their merged data (host > group > group_data/all.py)."""
    with ctx_state.use(State()):
        inventory = make_inventory(str(inventory_file), group_data_directories=[str(GROUP_DATA)])
        return [InventoryHost(h.name, h.data.dict()) for h in inventory]


def ssh_config(hosts: list[InventoryHost]) -> str:
    blocks = []
    for h in hosts:
        d = h.data
        lines = [f"Host {h.name}", f"  HostName {d.get('ssh_hostname') or h.name}",
                 f"  Port {d.get('ssh_port') or 22}", f"  User {d.get('ssh_user') or 'root'}",
                 "  BatchMode yes", "  ConnectTimeout 10"]
        if d.get("ssh_key"):
            lines += [f"  IdentityFile {d['ssh_key']}", "  IdentitiesOnly yes"]
        if d.get("ssh_known_hosts_file"):
            lines.append(f"  UserKnownHostsFile {d['ssh_known_hosts_file']}")
        if d.get("ssh_strict_host_key_checking"):
            lines.append(f"  StrictHostKeyChecking {d['ssh_strict_host_key_checking']}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def testinfra_host(host: InventoryHost, config_file: Path):
    return testinfra.get_host(f"ssh://{host.name}", ssh_config=str(config_file),
                              sudo=bool(host.data.get("_sudo")), controlpersist=60)
