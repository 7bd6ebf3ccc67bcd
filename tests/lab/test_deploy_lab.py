"""The deploy against the real two-node lab: idempotent, and refused by preflight with nothing changed."""

import ipaddress
import subprocess
import sys
import textwrap
from contextlib import contextmanager

import pytest

pytestmark = pytest.mark.lab


def test_the_check_summary_of_make_lab_passes_on_the_deployed_cluster(lab):
    # converge first: other tests restart containers, and the container runtime rewrites /etc/hosts
    assert lab.deploy().returncode == 0
    lab.wait_for(lab.channels_running, timeout=120, interval=1, what="both replication channels running")
    verify = subprocess.run([sys.executable, "-m", "lab", "verify"], cwd=lab.inventory.rsplit("/inventories", 1)[0],
                            env=lab.env, capture_output=True, text=True, timeout=300)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "FAIL" not in verify.stdout


def test_second_deploy_reports_no_changes(lab):
    # converge first: other tests restart containers, and the container runtime rewrites /etc/hosts
    assert lab.deploy().returncode == 0
    run = lab.deploy()
    assert run.returncode == 0, run.output[-3000:]
    assert run.totals()["changed"] == "-", run.output[-3000:]
    assert run.totals()["error"] == "-"


@contextmanager
def pending_change(lab):
    """Remove node-a's /etc/hosts entry for node-b: a change the deploy would make if it ran."""
    b = lab.node_info("node-b")
    # /etc/hosts is bind-mounted in a container: rewrite it in place, not by rename
    lab.on("node-a", f"grep -v '^{b['address']}[[:space:]]' /etc/hosts > /tmp/hosts.qmha-test; "
                     "cat /tmp/hosts.qmha-test > /etc/hosts")
    try:
        yield lambda: b["fqdn"] in lab.on("node-a", "cat /etc/hosts")
    finally:
        run = lab.deploy()
        assert run.returncode == 0, run.output[-3000:]


@contextmanager
def os_release_says(lab, node: str, version_id: str):
    lab.on(node, "cp /usr/lib/os-release /tmp/os-release.qmha-test")
    lab.on(node, f"sed -i 's/^VERSION_ID=.*/VERSION_ID=\"{version_id}\"/' /usr/lib/os-release")
    try:
        yield
    finally:
        lab.on(node, "cat /tmp/os-release.qmha-test > /usr/lib/os-release && rm /tmp/os-release.qmha-test")


def assert_refused(run, *needles):
    assert run.returncode != 0
    assert "nothing was changed on any node" in run.output, run.output[-3000:]
    assert "Beginning operation run" not in run.output
    for needle in needles:
        assert needle in run.output, run.output[-3000:]


def test_wrong_os_is_refused_before_any_change(lab):
    with pending_change(lab) as entry_present, os_release_says(lab, "node-b", "11"):
        run = lab.deploy()
        assert_refused(run, "node-b: supported OS: Debian 11 is not supported")
        assert not entry_present()


def test_unreachable_peer_is_refused_before_any_change(lab):
    b = lab.node_info("node-b")
    with pending_change(lab) as entry_present:
        lab.on("node-a", f"ip route add blackhole {b['address']}/32")
        try:
            run = lab.deploy()
        finally:
            lab.on("node-a", f"ip route del blackhole {b['address']}/32")
        assert_refused(run, f"node-a: peer reachable: cannot open TCP {b['address']}:22")
        assert not entry_present()


def test_inventory_with_wrong_address_is_refused_before_any_change(lab, tmp_path):
    wrong = str(ipaddress.ip_network(lab.cfg.subnet)[13])
    a = lab.node_info("node-a")
    inventory = tmp_path / "wrong_address.py"
    inventory.write_text(textwrap.dedent(f"""
        import runpy
        _lab = runpy.run_path({lab.inventory!r})
        _hosts, _data = _lab["qm_nodes"]
        _hosts[0][1]["qm_node_address"] = {wrong!r}
        qm_nodes = (_hosts, _data)
    """))
    with pending_change(lab) as entry_present:
        run = lab.deploy("--group-data", "inventories/group_data", inventory=str(inventory))
        assert_refused(run, f"node-a: address on eth0: {wrong} is not on eth0 (no interface has it)",
                       f"{a['fqdn']} resolves: resolves to ['{a['address']}'], not ['{wrong}']")
        assert not entry_present()


def test_inventory_with_one_node_is_refused(lab, tmp_path):
    inventory = tmp_path / "one_node.py"
    inventory.write_text(textwrap.dedent(f"""
        import runpy
        _lab = runpy.run_path({lab.inventory!r})
        _hosts, _data = _lab["qm_nodes"]
        qm_nodes = (_hosts[:1], _data)
    """))
    run = lab.deploy(inventory=str(inventory))
    assert run.returncode != 0
    assert "the inventory has 1 host(s); an HA cluster needs exactly two" in run.output


def test_node_this_machine_cannot_reach_is_refused_before_any_change(lab, tmp_path):
    b = lab.node_info("node-b")
    inventory = tmp_path / "closed_port.py"
    inventory.write_text(textwrap.dedent(f"""
        import runpy
        _lab = runpy.run_path({lab.inventory!r})
        _hosts, _data = _lab["qm_nodes"]
        _hosts[1][1]["ssh_port"] = 2
        qm_nodes = (_hosts, _data)
    """))
    with pending_change(lab) as entry_present:
        run = lab.deploy("--group-data", "inventories/group_data", inventory=str(inventory))
        assert_refused(run, f"node-b: SSH access from this machine: could not connect to {b['ssh_host']}:2 as 'root'",
                       "Fix: start the node, or correct ssh_hostname / ssh_port")
        assert not entry_present()


def test_deploy_limited_to_one_node_is_refused(lab):
    with pending_change(lab) as entry_present:
        run = lab.deploy("--limit", "node-a")
        assert_refused(run, "inventory: both nodes in one run: --limit/--exclude leaves out node-b")
        assert not entry_present()


@pytest.mark.parametrize("data, needle", [
    ("qm_firewall_ssh_sources=10.213.77.1", "qm_firewall_ssh_sources: '10.213.77.1' is not a list"),
    ('qm_firewall_ssh_sources=["10.213.77.300/32"]', "qm_firewall_ssh_sources: item '10.213.77.300/32'"),
    ("qm_tomcat_http_port=70000", "qm_tomcat_http_port: 70000 is out of range"),
    ("qm_app_mode=tomcat", "qm_app_mode: 'tomcat' is not one of standin, war, loway"),
    ("qm_app_war=/nonexistent/queuemetrics.war", "qm_app_war: /nonexistent/queuemetrics.war is not a file"),
], ids=["string-for-list", "not-a-network", "port-out-of-range", "unknown-mode", "missing-file"])
def test_a_malformed_knob_is_refused_before_any_change(lab, data, needle):
    with pending_change(lab) as entry_present:
        rules = lab.on("node-a", "nft list table inet qmha")
        run = lab.deploy("--data", data)
        assert_refused(run, f"node-a and node-b: {needle}", "Fix: ")
        assert not entry_present()
        assert lab.on("node-a", "nft list table inet qmha") == rules
