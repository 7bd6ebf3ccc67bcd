"""Floating addresses: who holds which address, and keepalived's configuration, without nodes."""

from operations import floating
from operations.render import render

FLOATING = ("192.168.1.21", "192.168.1.22")


def test_each_node_prefers_its_own_address_and_backs_up_its_peers():
    a = floating.vrrp_instances(0, FLOATING, first_router_id=51)
    b = floating.vrrp_instances(1, FLOATING, first_router_id=51)
    assert [(i.address, i.router_id, i.priority, i.home) for i in a] == [
        ("192.168.1.21", 51, 150, True), ("192.168.1.22", 52, 100, False)]
    assert [(i.address, i.router_id, i.priority, i.home) for i in b] == [
        ("192.168.1.21", 51, 100, False), ("192.168.1.22", 52, 150, True)]
    assert [i.name for i in a] == [i.name for i in b]  # one instance name per address, on both nodes


def test_a_failing_web_check_hands_the_own_address_over_but_never_takes_the_peers():
    home, backup = floating.HOME_PRIORITY, floating.BACKUP_PRIORITY
    assert home - floating.CHECK_WEIGHT < backup           # unwell at home: the peer takes it
    assert backup - floating.CHECK_WEIGHT < home - floating.CHECK_WEIGHT  # both unwell: each keeps its own
    assert floating.CHECK_RISE > floating.CHECK_FALL       # slower to come back than to go: no flapping


def test_the_vrrp_password_is_eight_characters_the_same_on_both_nodes_and_not_the_secret():
    password = floating.vrrp_password("s3cret-of-the-cluster")
    assert len(password) == 8 and password == floating.vrrp_password("s3cret-of-the-cluster")
    assert password not in "s3cret-of-the-cluster" and password != floating.vrrp_password("another")


def test_the_cluster_name_resolves_to_the_floating_addresses_when_they_are_used():
    nodes = ["192.168.1.12", "192.168.1.11"]
    assert floating.cluster_addresses(nodes, None) == ["192.168.1.11", "192.168.1.12"]
    assert floating.cluster_addresses(nodes, FLOATING[::-1]) == list(FLOATING)


def render_conf(node_index=0) -> str:
    return render("keepalived/keepalived.conf.j2", node_fqdn="node-a.example.com", peer_fqdn="node-b.example.com",
                  router_name="node-a", check_script="/usr/local/sbin/qmha-web-check", interval=1, timeout=2,
                  fall=2, rise=3, weight=60, instances=floating.vrrp_instances(node_index, FLOATING, 51),
                  interface="eth0", advert=1, me="192.168.1.11", peer="192.168.1.12", password="abcd1234",
                  prefix=24)


def test_keepalived_speaks_unicast_vrrp_to_the_peer_only_with_authentication():
    text = render_conf()
    assert text.count("unicast_src_ip 192.168.1.11") == 2 and text.count("unicast_peer {\n        192.168.1.12\n") == 2
    assert text.count("auth_type PASS") == 2 and text.count("auth_pass abcd1234") == 2
    assert "vrrp_mcast" not in text and "192.168.1.21/24 dev eth0" in text and "192.168.1.22/24 dev eth0" in text


def test_keepalived_tracks_the_web_check_in_both_instances_and_runs_scripts_as_root_only():
    text = render_conf()
    assert "enable_script_security" in text and "script_user root" in text
    assert 'script "/usr/local/sbin/qmha-web-check"' in text and "weight -60" in text
    assert "fall 2" in text and "rise 3" in text and text.count("track_script {\n        qmha_web\n") == 2


def test_keepalived_gives_each_address_its_router_id_and_priority():
    text = render_conf(node_index=1)
    a = text[text.index("vrrp_instance QMHA_A"):text.index("vrrp_instance QMHA_B")]
    b = text[text.index("vrrp_instance QMHA_B"):]
    assert "virtual_router_id 51" in a and "priority 100" in a and "state BACKUP" in a
    assert "virtual_router_id 52" in b and "priority 150" in b
