"""The firewall each family gets: firewalld commands on CentOS 7, the project's nftables table on Debian 12."""


import re

import pytest

from operations.phases.preflight import PreflightError

from tests.deploy.harness import load_fixture, plan, set_response


def zone_file(cmds: list[str]) -> str:
    return next(c for c in cmds if c.startswith("upload /etc/firewalld/zones/qmha.xml"))


def test_el7_opens_ssh_and_web_to_all_in_firewalld(el7):
    zone = zone_file(el7["node-a"])
    for port in ("22", "80", "443"):
        assert f'<port protocol="tcp" port="{port}"/>' in zone


def test_el7_opens_database_and_tomcat_to_the_peer_only(el7):
    zone = zone_file(el7["node-a"])
    for port in ("3306", "8443"):
        assert re.search(r'<rule family="ipv4">\s*<source address="192\.168\.1\.6"/>\s*'
                         rf'<port protocol="tcp" port="{port}"/>\s*<accept/>', zone)
        assert f'\n  <port protocol="tcp" port="{port}"/>' not in zone
    assert zone.count("<source ") == 2


def test_el7_first_run_leaves_none_of_firewalds_default_services_open(el7):
    """On a fresh node firewalld is not even installed when the deploy prepares: its default
    services (ssh, dhcpv6-client) cannot be listed, so the envelope is a whole zone of our own."""
    cmds = el7["node-a"]
    assert "<service" not in zone_file(cmds)
    reload_at = cmds.index("firewall-cmd --reload")
    assert cmds.index("firewall-cmd --set-default-zone=qmha") > reload_at > cmds.index(zone_file(cmds))


def test_el7_default_zone_already_ours_is_left_alone(tmp_path):
    cmds = plan(set_response(load_fixture("el7"), "node-a", "firewall-cmd --get-default-zone", "qmha"),
                tmp_path)["node-a"]
    assert "firewall-cmd --set-default-zone=qmha" not in cmds


def test_el7_ssh_sources_restrict_ssh_in_the_zone(tmp_path):
    cmds = plan(load_fixture("el7"), tmp_path, qm_firewall_ssh_sources=["203.0.113.7/32"])["node-a"]
    zone = zone_file(cmds)
    assert '\n  <port protocol="tcp" port="22"/>' not in zone  # not open to all
    assert re.search(r'<source address="203\.0\.113\.7/32"/>\s*<port protocol="tcp" port="22"/>', zone)


def test_debian12_loads_its_own_nftables_table_without_flushing_others(debian12):
    upload = next(c for c in debian12["node-b"] if c.startswith("upload /etc/qm-ha/firewall.nft"))
    assert "flush ruleset" not in upload
    assert "delete table inet qmha" in upload
    assert "policy drop;" in upload
    assert "ip saddr 10.213.77.11 tcp dport { 3306, 8443 } accept" in upload
    assert "tcp dport { 22, 80, 443 } accept" in upload
    assert not any(c.startswith("firewall-cmd") for c in debian12["node-b"])


def test_ssh_sources_restrict_ssh(tmp_path):
    cmds = plan(load_fixture("debian12"), tmp_path, qm_firewall_ssh_sources=["203.0.113.7/32"])["node-a"]
    upload = next(c for c in cmds if c.startswith("upload /etc/qm-ha/firewall.nft"))
    assert "tcp dport { 80, 443 } accept" in upload
    assert "ip saddr 203.0.113.7/32 tcp dport 22 accept" in upload


def test_el7_zone_file_is_well_formed_xml(tmp_path):
    from xml.dom.minidom import parseString

    cmds = plan(load_fixture("el7"), tmp_path, qm_firewall_ssh_sources=["203.0.113.7/32"])["node-a"]
    parseString(zone_file(cmds).split("\n", 1)[1].encode())


def test_restricted_ssh_still_lets_the_peer_in(tmp_path):
    cmds = plan(load_fixture("debian12"), tmp_path, qm_firewall_ssh_sources=["203.0.113.7/32"])
    a = next(c for c in cmds["node-a"] if c.startswith("upload /etc/qm-ha/firewall.nft"))
    b = next(c for c in cmds["node-b"] if c.startswith("upload /etc/qm-ha/firewall.nft"))
    assert "ip saddr 10.213.77.12/32 tcp dport 22 accept" in a  # the fixture's node B
    assert "ip saddr 10.213.77.11/32 tcp dport 22 accept" in b
    zone = zone_file(plan(load_fixture("el7"), tmp_path / "el7", qm_firewall_ssh_sources=["203.0.113.7/32"])["node-a"])
    assert re.search(r'<source address="192\.168\.1\.6/32"/>\s*<port protocol="tcp" port="22"/>', zone)


def test_ssh_sources_that_shut_out_this_machine_are_refused(tmp_path):
    with pytest.raises(PreflightError) as info:
        plan(load_fixture("debian12"), tmp_path, qm_firewall_ssh_sources=["198.51.100.0/24"])
    message = str(info.value)
    assert "@fake/node-a: qm_firewall_ssh_sources keeps this machine in: SSH from this machine comes from " \
           "203.0.113.7, which none of 198.51.100.0/24 covers" in message
    assert "Fix: add 203.0.113.7/32 (or its network) to qm_firewall_ssh_sources" in message


def test_ssh_sources_covering_this_machine_by_network_pass(tmp_path):
    assert plan(load_fixture("debian12"), tmp_path, qm_firewall_ssh_sources=["203.0.113.0/24"])["node-a"]
