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


@pytest.mark.parametrize("port", [3306, 8080, 8081, 8443])
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
