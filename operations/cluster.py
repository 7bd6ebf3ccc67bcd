"""The cluster as the inventory describes it: two nodes, each with an FQDN and an address, and
one cluster FQDN that resolves to both.

``from_inventory`` checks the inventory's shape before any connection matters and raises
``InventoryError`` listing every problem with its fix. Operations use ``this_node()`` and
``peer_node()`` to know who they run on and who the other side is.

Example:

.. code:: python

    from operations.cluster import current

    c = current()
    c.me.fqdn, c.peer.address      # "node-a.mycompany.com", "192.168.1.6"
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from pyinfra import host as current_host
from pyinfra import inventory as current_inventory
from pyinfra.api.exceptions import InventoryError as PyinfraInventoryError

FQDN_RE = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")


class InventoryError(PyinfraInventoryError):
    """The inventory cannot describe a cluster; the message lists each problem and its fix."""


@dataclass(frozen=True)
class NodeSpec:
    host_name: str
    fqdn: str
    address: str
    ssh_port: int

    @property
    def short_name(self) -> str:
        return self.fqdn.split(".", 1)[0]


@dataclass(frozen=True)
class Cluster:
    fqdn: str
    nodes: tuple[NodeSpec, NodeSpec]
    me: NodeSpec | None = None

    @property
    def peer(self) -> NodeSpec:
        return next(n for n in self.nodes if n is not self.me)

    def node_for(self, host_name: str) -> NodeSpec:
        return next(n for n in self.nodes if n.host_name == host_name)


def _node_problems(name: str, data) -> list[str]:
    problems = []
    fqdn, address = data.get("qm_node_fqdn"), data.get("qm_node_address")
    if not fqdn or not FQDN_RE.match(str(fqdn).lower()):
        problems.append(f"host {name}: qm_node_fqdn is {fqdn!r}; set it to the node's FQDN, "
                        "e.g. 'node-a.mycompany.com'")
    try:
        ipaddress.IPv4Address(str(address))
    except ValueError:
        problems.append(f"host {name}: qm_node_address is {address!r}; set it to the node's IPv4 "
                        "address on the cluster network, e.g. '192.168.1.5'")
    return problems


def from_inventory(inventory=None) -> Cluster:
    """Validate the inventory and return the cluster it describes."""
    inventory = inventory or current_inventory
    hosts = list(inventory)
    problems: list[str] = []
    if len(hosts) != 2:
        problems.append(f"the inventory has {len(hosts)} host(s); an HA cluster needs exactly two "
                        "(copy inventories/customer.py and list node A and node B)")
    for h in hosts:
        problems += _node_problems(h.name, h.data)
    cluster_fqdn = str(hosts[0].data.get("qm_cluster_fqdn") or "") if hosts else ""
    if not FQDN_RE.match(cluster_fqdn.lower()):
        problems.append(f"qm_cluster_fqdn is {cluster_fqdn!r}; set it (group data) to the name users "
                        "open, which resolves to both nodes, e.g. 'queuemetrics.mycompany.com'")
    if len(hosts) == 2 and not problems:
        a, b = hosts
        if a.data.qm_node_fqdn == b.data.qm_node_fqdn:
            problems.append(f"both hosts have qm_node_fqdn {a.data.qm_node_fqdn!r}; give each node its own")
        if a.data.qm_node_address == b.data.qm_node_address:
            problems.append(f"both hosts have qm_node_address {a.data.qm_node_address!r}; give each its own")
        if cluster_fqdn in (a.data.qm_node_fqdn, b.data.qm_node_fqdn):
            problems.append("qm_cluster_fqdn equals a node FQDN; the cluster name must be a third name")
        if a.data.get("qm_cluster_fqdn") != b.data.get("qm_cluster_fqdn"):
            problems.append("the two hosts have different qm_cluster_fqdn; set it once as group data")
    if problems:
        raise InventoryError("the inventory is not a two-node cluster:\n  - " + "\n  - ".join(problems))
    nodes = tuple(
        NodeSpec(host_name=h.name, fqdn=str(h.data.qm_node_fqdn).lower(), address=str(h.data.qm_node_address),
                 ssh_port=int(h.data.get("ssh_port") or 22))
        for h in hosts
    )
    return Cluster(fqdn=cluster_fqdn.lower(), nodes=nodes)  # type: ignore[arg-type]


def current() -> Cluster:
    """The cluster seen from the host pyinfra is working on: ``me`` and ``peer`` set."""
    cluster = from_inventory(current_inventory)
    return Cluster(fqdn=cluster.fqdn, nodes=cluster.nodes, me=cluster.node_for(current_host.name))
