"""The firewall each family gets: firewalld commands on CentOS 7, the project's nftables table on Debian 12."""


from tests.deploy.harness import load_fixture, plan, set_response


def test_el7_opens_ssh_and_web_to_all_in_firewalld(el7):
    for port in ("22", "80", "443"):
        assert f"firewall-cmd --permanent --add-port={port}/tcp" in el7["node-a"]


def test_el7_opens_database_and_tomcat_to_the_peer_only(el7):
    cmds = el7["node-a"]
    for port in ("3306", "8443"):
        assert ("firewall-cmd --permanent --add-rich-rule 'rule family=\"ipv4\" source address=\"192.168.1.6\" "
                f"port port=\"{port}\" protocol=\"tcp\" accept'") in cmds
    assert not any("--add-port=3306" in c or "--add-port=8443" in c for c in cmds)
    assert cmds[-1] == "firewall-cmd --reload" or "firewall-cmd --reload" in cmds


def test_el7_drops_services_firewalld_opened_by_default(el7, tmp_path):
    zone = "public\n  target: default\n  services: dhcpv6-client ssh\n  ports: \n  rich rules: "
    cmds = plan(set_response(load_fixture("el7"), "node-a", "firewall-cmd --permanent --list-all", zone),
                tmp_path)["node-a"]
    assert "firewall-cmd --permanent --remove-service=dhcpv6-client" in cmds
    assert "firewall-cmd --permanent --remove-service=ssh" in cmds


def test_el7_firewalld_already_right_changes_nothing(tmp_path):
    rule = 'rule family="ipv4" source address="192.168.1.6" port port="{}" protocol="tcp" accept'
    zone = ("public\n  target: default\n  services: \n  ports: 22/tcp 80/tcp 443/tcp\n  rich rules: \n\t"
            + rule.format(3306) + "\n\t" + rule.format(8443))
    cmds = plan(set_response(load_fixture("el7"), "node-a", "firewall-cmd --permanent --list-all", zone),
                tmp_path)["node-a"]
    assert not any(c.startswith("firewall-cmd") for c in cmds)


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
