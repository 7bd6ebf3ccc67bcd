"""From a pyinfra inventory to testinfra hosts: the same inventory drives the deploy, the checks and the drill.

pyinfra's inventory data (``ssh_hostname``, ``ssh_port``, ``ssh_user``, ``ssh_key``,
``ssh_known_hosts_file``, ``_sudo``) becomes an OpenSSH config, so testinfra's ``ssh`` backend
reaches each node exactly as the deploy did, host keys pinned where the inventory pins them. With
a sudo password (``_sudo_password``, the seed's 'qm' user), sudo reads it on its standard input:
it is in no command line and no file.

Example:

.. code:: python

    hosts = inventory_hosts("inventories/customer.py")
    Path("ssh_config").write_text(ssh_config(hosts))
    node = testinfra_host(hosts[0], Path("ssh_config"))
    node.service("nginx").is_running
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import testinfra
from pyinfra.api import State
from testinfra.backend.ssh import SshBackend
from testinfra.host import Host
from pyinfra.context import ctx_state
from pyinfra_cli.inventory import make_inventory

from operations.knobs import connection

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
        d, reach = h.data, connection(h.name, h.data)
        lines = [f"Host {h.name}", f"  HostName {reach.hostname}", f"  Port {reach.port}", f"  User {reach.user}",
                 "  BatchMode yes", "  ConnectTimeout 10"]
        if reach.key_file:
            lines += [f"  IdentityFile {reach.key_file}", "  IdentitiesOnly yes"]
        if d.get("ssh_known_hosts_file"):
            lines.append(f"  UserKnownHostsFile {d['ssh_known_hosts_file']}")
        if d.get("ssh_strict_host_key_checking"):
            lines.append(f"  StrictHostKeyChecking {d['ssh_strict_host_key_checking']}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


class SudoPasswordSsh(SshBackend):
    """testinfra's ssh backend for a sudo user with a password: ``sudo -S`` reads it from the ssh
    process's standard input (``-k``: always, so it never reaches the command itself)."""

    NAME = "ssh-sudo-password"

    def __init__(self, hostspec: str, *args, sudo_password: str, **kwargs):
        self._sudo_password = sudo_password
        super().__init__(hostspec, *args, **kwargs)

    def get_sudo_command(self, command: str, sudo_user: Optional[str]) -> str:
        if sudo_user is None:
            return self.quote("sudo -k -S -p '' /bin/sh -c %s", command)
        return self.quote("sudo -k -S -p '' -u %s /bin/sh -c %s", sudo_user, command)

    def run_local(self, command: str, *args: str):
        cmd = self.encode(self.quote(command, *args))
        process = subprocess.Popen(cmd, shell=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        stdout, stderr = process.communicate(input=(self._sudo_password + "\n").encode())
        return self.result(process.returncode, cmd, stdout, stderr)


def testinfra_host(host: InventoryHost, config_file: Path):
    """HOST as a testinfra host, reached and made root as the inventory says."""
    reach = connection(host.name, host.data)
    sudo, password = reach.sudo, reach.sudo_password
    if sudo and password:
        backend = SudoPasswordSsh(host.name, ssh_config=str(config_file), sudo=True, controlpersist=60,
                                  sudo_password=str(password))
        node = Host(backend)
        backend.set_host(node)
        return node
    return testinfra.get_host(f"ssh://{host.name}", ssh_config=str(config_file), sudo=sudo, controlpersist=60)
