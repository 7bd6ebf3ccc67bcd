"""The inventory describes a two-node cluster, or the deploy says exactly what is wrong with it."""

from pathlib import Path

import pytest
from pyinfra.api import Inventory

from operations.cluster import InventoryError, from_inventory
from drill import hosts as remote

REPO = Path(__file__).resolve().parents[2]


def inventory(nodes, **group):
    names = [n[0] for n in nodes]
    return Inventory((nodes, {}), qm_nodes=(names, group))


def seed_nodes():
    return [
        ("node-a", {"qm_node_fqdn": "node-a.mycompany.com", "qm_node_address": "192.168.1.5"}),
        ("node-b", {"qm_node_fqdn": "node-b.mycompany.com", "qm_node_address": "192.168.1.6"}),
    ]


def problems(inv) -> str:
    with pytest.raises(InventoryError) as info:
        from_inventory(inv)
    return str(info.value)


def test_customer_inventory_is_the_seed_example():
    hosts = remote.inventory_hosts(REPO / "inventories/customer.py")
    assert [h.name for h in hosts] == ["node-a", "node-b"]
    assert {h.data["qm_node_fqdn"]: h.data["qm_node_address"] for h in hosts} == {
        "node-a.mycompany.com": "192.168.1.5", "node-b.mycompany.com": "192.168.1.6"}
    assert {h.data["qm_cluster_fqdn"] for h in hosts} == {"queuemetrics.mycompany.com"}


def test_customer_inventory_gets_defaults_from_group_data():
    data = remote.inventory_hosts(REPO / "inventories/customer.py")[0].data
    assert data["qm_interface"] == "eth0"
    assert data["qm_strict_disk_layout"] is True


def test_testinfra_reaches_customer_nodes_as_pyinfra_does():
    config = remote.ssh_config(remote.inventory_hosts(REPO / "inventories/customer.py"))
    assert "Host node-a\n  HostName 192.168.1.5\n  Port 22\n  User root" in config
    assert "Host node-b\n  HostName 192.168.1.6" in config


def test_lab_host_keys_are_pinned_for_testinfra():
    hosts = [remote.InventoryHost("node-a", {"ssh_hostname": "10.0.0.1", "ssh_key": "/k",
                                             "ssh_known_hosts_file": "/kh", "ssh_strict_host_key_checking": "yes"})]
    config = remote.ssh_config(hosts)
    assert "UserKnownHostsFile /kh" in config and "StrictHostKeyChecking yes" in config


def test_valid_inventory_gives_both_nodes_and_the_cluster_name():
    cluster = from_inventory(inventory(seed_nodes(), qm_cluster_fqdn="queuemetrics.mycompany.com"))
    assert cluster.fqdn == "queuemetrics.mycompany.com"
    assert [n.short_name for n in cluster.nodes] == ["node-a", "node-b"]


def test_three_nodes_are_refused():
    nodes = seed_nodes() + [("node-c", {"qm_node_fqdn": "node-c.mycompany.com", "qm_node_address": "192.168.1.7"})]
    assert "the inventory has 3 host(s); an HA cluster needs exactly two" in problems(
        inventory(nodes, qm_cluster_fqdn="queuemetrics.mycompany.com"))


def test_missing_cluster_fqdn_is_refused_with_an_example():
    assert "qm_cluster_fqdn is ''; set it (group data)" in problems(inventory(seed_nodes()))


def test_bad_address_and_fqdn_are_named_per_host():
    nodes = seed_nodes()
    nodes[1][1]["qm_node_address"] = "192.168.1.300"
    nodes[0][1]["qm_node_fqdn"] = "node-a"
    text = problems(inventory(nodes, qm_cluster_fqdn="queuemetrics.mycompany.com"))
    assert "host node-a: qm_node_fqdn is 'node-a'" in text
    assert "host node-b: qm_node_address is '192.168.1.300'" in text


def test_duplicate_addresses_are_refused():
    nodes = seed_nodes()
    nodes[1][1]["qm_node_address"] = "192.168.1.5"
    assert "both hosts have qm_node_address '192.168.1.5'" in problems(
        inventory(nodes, qm_cluster_fqdn="queuemetrics.mycompany.com"))


def test_cluster_name_must_differ_from_node_names():
    assert "qm_cluster_fqdn equals a node FQDN" in problems(
        inventory(seed_nodes(), qm_cluster_fqdn="node-a.mycompany.com"))
