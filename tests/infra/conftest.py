"""testinfra suites run against the inventory in ``QMHA_INVENTORY`` (default: the lab's).

    QMHA_INVENTORY=inventories/mycompany.py pytest tests/infra     # a customer's cluster after install

``node`` is each inventory host in turn (``node0``, ``node1``) as a testinfra host; ``spec`` is
what the inventory says that node should be (FQDN, address, peer).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drill import hosts as remote
from operations import knobs as knobs_mod
from operations.cluster import Cluster, NodeSpec
from operations.phases.app.tomcat import tomcat_for
from operations.platform import Platform, Tomcat, for_distribution

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
    read = [knobs_mod.read(h.name, h.data) for h in inventory_hosts]
    nodes = tuple(
        NodeSpec(host_name=h.name, fqdn=k.qm_node_fqdn, address=k.qm_node_address,
                 ssh_port=knobs_mod.connection(h.name, h.data).port)
        for h, k in zip(inventory_hosts, read)
    )
    return Cluster(fqdn=read[0].qm_cluster_fqdn, nodes=nodes)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def knobs(node_index, inventory_hosts) -> knobs_mod.Knobs:
    """The node's knobs, as the deploy reads them from the same inventory."""
    h = inventory_hosts[node_index]
    return knobs_mod.read(h.name, h.data)


@pytest.fixture(scope="session")
def tomcat(platform, knobs) -> Tomcat:
    """The Tomcat of the node's install mode (Loway's in ``loway`` mode, the distribution's otherwise)."""
    return tomcat_for(platform, knobs.qm_app_mode)


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
