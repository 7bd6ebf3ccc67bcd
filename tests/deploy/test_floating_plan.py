"""The floating phase on fresh CentOS 7 (keepalived 1.3) / EL 8 / EL 9 / Debian 12 (keepalived 2.2) nodes, from
recorded facts: keepalived installed with a root-only configuration and the web check, or nothing at all
without floating addresses."""

import pytest

from operations import paths
from operations.phases import firewall, floating
from operations.render import render
from tests.deploy.harness import all_commands, find, run

FLOATING = ["192.168.1.21", "192.168.1.22"]


@pytest.mark.parametrize("os_key, install", [("el7", "yum install -y keepalived"),
                                             ("el8", "dnf install -y keepalived"), ("el9", "dnf install -y keepalived"),
                                             ("debian12", "install keepalived")])
def test_keepalived_is_installed_configured_root_only_and_running(tmp_path, os_key, install):
    ops = run(floating.configure, os_key, tmp_path, data={"qm_floating_addresses": FLOATING})
    for node in ("node-a", "node-b"):
        text = all_commands(ops[node])
        assert install in text and "keepalived" in find(ops[node], "keepalived package").text
        conf = find(ops[node], rf"\| {paths.KEEPALIVED_CONF}$").text
        assert "chmod 600" in conf or "0600" in conf
        assert f"chmod 700 {paths.WEB_CHECK_SCRIPT}" in find(ops[node], rf"\| {paths.WEB_CHECK_SCRIPT}$").text
        assert "systemctl enable keepalived.service" in find(ops[node], r"keepalived.service running$").text


def test_without_floating_addresses_nothing_of_keepalived_is_done_on_a_fresh_node(tmp_path):
    ops = run(floating.configure, "debian12", tmp_path)
    assert "keepalived" not in all_commands(ops["node-a"])


def test_vrrp_is_let_in_from_the_peer_only_and_only_with_floating_addresses():
    values = {"public_ports": [22, 80, 443], "ssh_port": 22, "ssh_sources": [], "peer_address": "192.168.1.6",
              "peer_ports": [3306, 8443]}
    nft_on = render("firewall/qmha.nft.j2", **values, vrrp_from_peer=True)
    nft_off = render("firewall/qmha.nft.j2", **values, vrrp_from_peer=False)
    assert "ip saddr 192.168.1.6 ip protocol vrrp accept" in nft_on and "vrrp" not in nft_off
    zone = render("firewall/firewalld-zone.xml.j2", **values, vrrp_from_peer=True)
    rule = zone[zone.index('<protocol value="vrrp"/>') - 80:]
    assert '<source address="192.168.1.6"/>' in rule
    assert "vrrp" not in render("firewall/firewalld-zone.xml.j2", **values, vrrp_from_peer=False)
    assert firewall  # the phase that renders them


def test_the_web_check_asks_this_nodes_nginx_for_the_apps_sysup_page():
    text = render("keepalived/qmha-web-check.sh.j2", timeout=2, ca="/etc/qm-ha/tls/ca.crt",
                  cluster_fqdn="queuemetrics.example.com", context="queuemetrics")
    assert "--resolve queuemetrics.example.com:443:127.0.0.1 https://queuemetrics.example.com/queuemetrics/sysup.jsp" in text
    assert "--fail --max-time 2" in text
