"""Base phase, as the seed requires it on every node: SSH, time sync, cron, names, TLS material."""

import hashlib

from pathlib import Path

import pytest

from operations import knobs, paths
from operations.paths import TLS as NODE_PATHS
from operations.phases.tls import GROUP


@pytest.mark.parametrize("role", ["ssh", "chrony", "cron"])
def test_service_is_running_and_enabled(node, platform, role):
    service = node.service(platform.services[role])
    assert service.is_running
    assert service.is_enabled


def test_hostname_is_the_node_short_name(node, spec):
    assert node.check_output("hostname") == spec.me.short_name


def test_hosts_file_maps_both_node_fqdns(node, spec):
    lines = [line.split() for line in node.file("/etc/hosts").content_string.splitlines()]
    for n in spec.nodes:
        assert [n.address, n.fqdn, n.short_name] in lines


def test_peer_fqdn_resolves_to_the_peer_address(node, spec):
    assert node.addr(spec.peer.fqdn).ipv4_addresses == [spec.peer.address]


def test_cluster_fqdn_resolves_to_both_nodes(node, spec):
    assert sorted(node.addr(spec.fqdn).ipv4_addresses) == sorted(n.address for n in spec.nodes)


def test_chrony_reports_its_tracking(node):
    assert "Reference ID" in node.check_output("chronyc -n tracking")


def test_tls_key_is_readable_by_root_and_the_tls_group_only(node):
    key = node.file(NODE_PATHS["key"])
    assert key.user == "root"
    assert key.group == GROUP
    assert key.mode == 0o640


def test_tls_certificate_on_node_is_the_one_on_the_control_machine(node, node_index, inventory_hosts):
    data = inventory_hosts[node_index].data
    k = knobs.read("node", data)
    local_cert = Path(k.qm_tls_cert) if k.qm_tls_cert else \
        paths.control_tls(paths.control_dir(k.qm_local_state_dir, k.qm_cluster_fqdn)) / "cluster.crt"
    assert node.file(NODE_PATHS["cert"]).sha256sum == hashlib.sha256(local_cert.read_bytes()).hexdigest()


def test_sshd_password_login_matches_the_inventory(node, node_index, inventory_hosts):
    wanted = inventory_hosts[node_index].data.get("qm_ssh_password_login")
    effective = node.check_output("sshd -T | grep -i '^passwordauthentication '").split()[1]
    if wanted is None:
        assert effective in ("yes", "no")
    else:
        assert effective == ("yes" if wanted else "no")
