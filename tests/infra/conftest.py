"""testinfra suites run against the inventory in ``QMHA_INVENTORY`` (default: the lab's).

    QMHA_INVENTORY=inventories/mycompany.py pytest tests/infra     # a customer's cluster after install

``node`` is each inventory host in turn (``node0``, ``node1``) as a testinfra host; ``spec`` is
what the inventory says that node should be (FQDN, address, peer).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from operations.cluster import Cluster, NodeSpec
from operations.platform import Platform, for_distribution
from drill import hosts as remote

REPO = Path(__file__).resolve().parents[2]
LAB_INVENTORY = REPO / "inventories" / "lab.py"


def _inventory_file() -> Path:
    return Path(os.environ.get("QMHA_INVENTORY") or LAB_INVENTORY).resolve()


@pytest.fixture(scope="session")
def inventory_hosts(request, tmp_path_factory) -> list[remote.InventoryHost]:
    inventory = _inventory_file()
    if inventory == LAB_INVENTORY:
        request.getfixturevalue("lab")
    return remote.inventory_hosts(inventory)


@pytest.fixture(scope="session")
def ssh_config_file(inventory_hosts, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ssh") / "config"
    path.write_text(remote.ssh_config(inventory_hosts))
    return path


@pytest.fixture(scope="session")
def cluster_spec(inventory_hosts) -> Cluster:
    nodes = tuple(
        NodeSpec(host_name=h.name, fqdn=h.data["qm_node_fqdn"], address=h.data["qm_node_address"],
                 ssh_port=int(h.data.get("ssh_port") or 22))
        for h in inventory_hosts
    )
    return Cluster(fqdn=inventory_hosts[0].data["qm_cluster_fqdn"], nodes=nodes)  # type: ignore[arg-type]


@pytest.fixture(scope="session", params=[0, 1], ids=["node0", "node1"])
def node_index(request) -> int:
    return request.param


@pytest.fixture(scope="session")
def node(node_index, inventory_hosts, ssh_config_file):
    return remote.testinfra_host(inventory_hosts[node_index], ssh_config_file)


@pytest.fixture(scope="session")
def host(node):
    """testinfra's usual name for the node under test."""
    return node


@pytest.fixture(scope="session")
def spec(node_index, cluster_spec) -> Cluster:
    """The cluster as seen from this node: ``spec.me`` and ``spec.peer``."""
    return Cluster(fqdn=cluster_spec.fqdn, nodes=cluster_spec.nodes, me=cluster_spec.nodes[node_index])


@pytest.fixture(scope="session")
def platform(node) -> Platform:
    info = node.system_info
    return for_distribution({"name": info.distribution, "major": int(str(info.release).split(".")[0]),
                             "release_meta": {"ID": info.distribution}})
