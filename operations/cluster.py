"""The cluster as the inventory describes it: two nodes, each with an FQDN and an address, and
one cluster FQDN that resolves to both.

``from_inventory`` checks the inventory's shape before any connection matters and raises
``InventoryError`` listing every problem with its fix. The run context (``context.Run``) gives
each phase the cluster with ``me`` and ``peer`` set.

Example:

.. code:: python

    from operations.cluster import from_inventory

    c = from_inventory(inventory)
    c.nodes[0].fqdn, c.nodes[1].address      # "node-a.mycompany.com", "192.168.1.6"
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from pyinfra import inventory as current_inventory
from pyinfra.api.exceptions import InventoryError as PyinfraInventoryError

from .knobs import FQDN_RE, connection, raw


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
    fqdn, address = raw(data, "qm_node_fqdn"), raw(data, "qm_node_address")
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
    cluster_fqdn = str(raw(hosts[0].data, "qm_cluster_fqdn") or "") if hosts else ""
    if not FQDN_RE.match(cluster_fqdn.lower()):
        problems.append(f"qm_cluster_fqdn is {cluster_fqdn!r}; set it (group data) to the name users "
                        "open, which resolves to both nodes, e.g. 'queuemetrics.mycompany.com'")
    if len(hosts) == 2 and not problems:
        a, b = ({name: raw(h.data, name) for name in ("qm_node_fqdn", "qm_node_address", "qm_cluster_fqdn")}
                for h in hosts)
        if a["qm_node_fqdn"] == b["qm_node_fqdn"]:
            problems.append(f"both hosts have qm_node_fqdn {a['qm_node_fqdn']!r}; give each node its own")
        if a["qm_node_address"] == b["qm_node_address"]:
            problems.append(f"both hosts have qm_node_address {a['qm_node_address']!r}; give each its own")
        if cluster_fqdn in (a["qm_node_fqdn"], b["qm_node_fqdn"]):
            problems.append("qm_cluster_fqdn equals a node FQDN; the cluster name must be a third name")
        if a["qm_cluster_fqdn"] != b["qm_cluster_fqdn"]:
            problems.append("the two hosts have different qm_cluster_fqdn; set it once as group data")
    if problems:
        raise InventoryError("the inventory is not a two-node cluster:\n  - " + "\n  - ".join(problems))
    nodes = tuple(
        NodeSpec(host_name=h.name, fqdn=str(raw(h.data, "qm_node_fqdn")).lower(),
                 address=str(raw(h.data, "qm_node_address")), ssh_port=connection(h.name, h.data).port)
        for h in hosts
    )
    return Cluster(fqdn=cluster_fqdn.lower(), nodes=nodes)  # type: ignore[arg-type]
