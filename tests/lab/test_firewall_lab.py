"""The security envelope, enforced in the lab: web and SSH from anywhere, the database and Tomcat's
peer connector from the peer only, everything else dropped; other tools' firewall tables untouched."""

import pytest

pytestmark = pytest.mark.lab

FILTERED, REFUSED, OPEN = 124, 1, 0


def connect(lab, container: str, address: str, port: int) -> int:
    """0 when a TCP connection opens, 1 when refused, 124 when nothing answers within 2 s (dropped)."""
    return lab.docker("exec", container, "timeout", "2", "bash", "-c", f"</dev/tcp/{address}/{port}",
                      check=False).returncode


@pytest.mark.parametrize("port", [22, 80, 443])
def test_ssh_and_web_answer_the_client(lab, port):
    for node in lab.nodes.values():
        assert connect(lab, lab.client, node["address"], port) == OPEN


@pytest.mark.parametrize("port", [3306, 8080, 8008, 8443])
def test_database_and_tomcat_ports_are_dropped_for_the_client(lab, port):
    for node in lab.nodes.values():
        assert connect(lab, lab.client, node["address"], port) == FILTERED


def test_peer_reaches_tomcats_peer_connector(lab):
    a, b = lab.nodes["node-a"], lab.nodes["node-b"]
    assert connect(lab, b["container"], a["address"], 8443) == OPEN
    assert connect(lab, a["container"], b["address"], 8443) == OPEN


def test_peer_reaches_the_database(lab):
    a, b = lab.nodes["node-a"], lab.nodes["node-b"]
    assert connect(lab, b["container"], a["address"], 3306) == OPEN
    assert connect(lab, a["container"], b["address"], 3306) == OPEN


def test_tomcat_http_connector_is_not_offered_to_the_peer(lab):
    a, b = lab.nodes["node-a"], lab.nodes["node-b"]
    assert connect(lab, b["container"], a["address"], 8080) == FILTERED


def test_other_tables_stay_and_name_resolution_still_works(lab):
    for name in lab.nodes:
        tables = lab.on(name, "nft list tables")
        assert "table inet qmha" in tables
        assert "table ip nat" in tables  # the container runtime's own (its DNS)
        assert lab.on(name, f"getent ahostsv4 {lab.fqdn}").strip()


def test_ssh_restricted_to_this_machine_keeps_the_peer_and_the_next_deploy(lab):
    """qm_firewall_ssh_sources = this machine only: the client is shut out of SSH, the peer is not
    (the sync still carries a change A -> B), and the next deploy still passes preflight."""
    import ipaddress
    import json
    import time

    from tests.lab.test_sync_lab import FILE, content

    this_machine = str(ipaddress.ip_network(lab.cfg.subnet)[1])  # the lab network's gateway: this machine
    setting = "qm_firewall_ssh_sources=" + json.dumps([f"{this_machine}/32"])
    a, b = lab.nodes["node-a"], lab.nodes["node-b"]
    original = content(lab, "node-a")
    try:
        run = lab.deploy("--data", setting)
        assert run.returncode == 0, run.output[-3000:]
        assert connect(lab, lab.client, a["address"], 22) == FILTERED
        assert connect(lab, b["container"], a["address"], 22) == OPEN
        assert connect(lab, a["container"], b["address"], 22) == OPEN
        marker = f"qmha.test.restricted_ssh={time.time_ns()}"
        lab.on("node-a", f"echo '{marker}' >> {FILE}")
        lab.wait_for(lambda: marker in content(lab, "node-b"), timeout=75, interval=1, what="the change reached node B")
        again = lab.deploy("--data", setting)
        assert again.returncode == 0, again.output[-3000:]
        shut_out = lab.deploy("--data", 'qm_firewall_ssh_sources=["198.51.100.0/24"]')
        assert shut_out.returncode != 0 and "nothing was changed on any node" in shut_out.output
        assert f"SSH from this machine comes from {this_machine}, which none of 198.51.100.0/24 covers" \
            in shut_out.output, shut_out.output[-3000:]
        assert connect(lab, b["container"], a["address"], 22) == OPEN
    finally:
        lab.docker("exec", "-i", a["container"], "sh", "-c", f"cat > {FILE}", input_text=original)
        restored = lab.deploy()
        assert restored.returncode == 0, restored.output[-3000:]
    assert connect(lab, lab.client, a["address"], 22) == OPEN
    lab.wait_for(lambda: content(lab, "node-b") == original, timeout=75, interval=1, what="original content back on B")
