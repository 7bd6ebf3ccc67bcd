"""Floating addresses on each node: keepalived running with a root-only configuration and holding
this node's own address where ``qm_floating_addresses`` is set; not running, and no extra address,
where it is not (a cluster taken back to plain round robin keeps nothing of it)."""

from operations import paths


def test_keepalived_runs_only_where_floating_addresses_are_used(node, knobs, spec):
    service = node.service("keepalived")
    if not knobs.qm_floating_addresses:
        assert not service.is_running
        return
    assert service.is_running and service.is_enabled
    conf = node.file(paths.KEEPALIVED_CONF)
    assert (conf.user, conf.mode) == ("root", 0o600)
    text = node.check_output(f"cat {paths.KEEPALIVED_CONF}")
    assert f"unicast_src_ip {spec.me.address}" in text and spec.peer.address in text


def test_the_node_interface_holds_its_own_floating_address_or_none(node, knobs, spec):
    addresses = [w.split("/")[0] for w in node.check_output(f"ip -4 -o addr show {knobs.qm_interface}").split()
                 if "/" in w and w[0].isdigit()]
    if knobs.qm_floating_addresses:
        assert knobs.qm_floating_addresses[spec.nodes.index(spec.me)] in addresses
    else:
        assert addresses == [spec.me.address]
