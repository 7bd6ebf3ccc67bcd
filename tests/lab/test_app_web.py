"""Application and web tier behaviour in the lab, seen from the client through the cluster FQDN
with the cluster CA: either node answers, and each failure of the issue is survived.

Each test restores what it breaks. ``test_token_written_through_a_is_read_through_b`` needs the
database tier's master-master replication (marker ``replication``).
"""

from __future__ import annotations

import uuid

import pytest

from tests.lab import PLATFORM

pytestmark = pytest.mark.lab

PROBE = "/queuemetrics/probe"


def serves_itself(lab, name):
    def check():
        code, body, _ = lab.curl(PROBE, via=name)
        return code == 200 and body.get("app") == name and body.get("db") == name
    return check


@pytest.fixture
def healthy(lab):
    """Both nodes serve their own app from their own database before and after the test."""
    for name in lab.nodes:
        lab.wait_for(serves_itself(lab, name), timeout=120, interval=1, what=f"{name} serving from its own Tomcat and database")
    yield lab
    for name in lab.nodes:
        lab.wait_for(serves_itself(lab, name), timeout=150, interval=1, what=f"{name} back to its own Tomcat and database")


def test_sysup_reports_qmup_through_the_cluster_name(healthy):
    code, _, _ = healthy.curl("/queuemetrics/sysup.jsp")
    assert code == 200
    out = healthy.docker("exec", healthy.client, "curl", "-sS", "--cacert", "/tmp/qmha-ca.crt",
                         f"https://{healthy.fqdn}/queuemetrics/sysup.jsp").stdout
    assert '"state":"QMUP"' in out


@pytest.mark.parametrize("name", ["node-a", "node-b"])
def test_probe_answers_via_each_node(healthy, name):
    code, body, _ = healthy.curl(PROBE, via=name)
    assert code == 200
    assert body["app"] == name and body["db"] == name
    assert int(body["rows"]) >= 0


def test_round_robin_reaches_both_nodes(healthy):
    apps = set()
    for _ in range(8):
        code, body, _ = healthy.curl(PROBE)
        assert code == 200
        apps.add(body["app"])
    assert apps == set(healthy.nodes)


def test_http_redirects_to_https_with_hsts(healthy):
    out = healthy.docker("exec", healthy.client, "curl", "-sSI", f"http://{healthy.fqdn}/queuemetrics/").stdout
    assert out.startswith("HTTP/1.1 301")
    assert f"Location: https://{healthy.fqdn}/queuemetrics/" in out
    out = healthy.docker("exec", healthy.client, "curl", "-sSI", "--cacert", "/tmp/qmha-ca.crt",
                         f"https://{healthy.fqdn}{PROBE}").stdout
    assert "Strict-Transport-Security: max-age=" in out


def test_tls_below_1_2_is_refused(healthy):
    proc = healthy.docker("exec", healthy.client, "curl", "-sS", "--cacert", "/tmp/qmha-ca.crt", "--tlsv1.1",
                          "--tls-max", "1.1", f"https://{healthy.fqdn}{PROBE}", check=False)
    assert proc.returncode != 0


def test_tomcat_stopped_on_a_requests_through_a_are_served_by_b(healthy):
    lab = healthy
    lab.node("node-a", f"systemctl stop {PLATFORM.tomcat.service}")
    try:
        results = [lab.curl(PROBE, via="node-a") for _ in range(5)]
        for code, body, _ in results:
            assert code == 200
            assert body["app"] == "node-b"
        # The first request finds the dead Tomcat; nginx's shared state sends the rest straight to B.
        assert max(seconds for _, _, seconds in results) < 1.0
        print(f"\nTomcat on A stopped: via A {[round(s, 3) for _, _, s in results]} s")
    finally:
        lab.node("node-a", f"systemctl start {PLATFORM.tomcat.service}")


def test_mariadb_stopped_on_a_app_on_a_answers_from_b_database(healthy):
    lab = healthy
    # Debian's mariadb.socket, when active, would start MariaDB again on the next connection.
    active = [u for u in ("mariadb.socket", "mariadb.service")
              if lab.node("node-a", f"systemctl is-active {u}", check=False).stdout.strip() == "active"]
    lab.node("node-a", "systemctl stop mariadb.socket mariadb.service 2>/dev/null || systemctl stop mariadb")
    try:
        results = [lab.curl(PROBE, via="node-a") for _ in range(5)]
        for code, body, _ in results:
            assert code == 200
            assert (body["app"], body["db"]) == ("node-a", "node-b")
            assert body["tls"] != "none"  # the hop to the peer's database is encrypted
        assert max(seconds for _, _, seconds in results) < 3.0
        print(f"\nMariaDB on A stopped: via A {[round(s, 3) for _, _, s in results]} s")
    finally:
        lab.node("node-a", f"systemctl start {' '.join(active) or 'mariadb'}")
    # After its database returns the driver keeps using the peer for a while (its blacklist),
    # then comes back to the local one: the fixture waits for that.


def test_nginx_stopped_on_a_client_still_answered(healthy):
    lab = healthy
    lab.node("node-a", "systemctl stop nginx")
    try:
        for _ in range(8):
            code, body, seconds = lab.curl(PROBE, connect_timeout=5)
            assert code == 200
            assert body["app"] == "node-b"
            assert seconds < 3
    finally:
        lab.node("node-a", "systemctl start nginx")


def test_node_a_stopped_client_still_answered(healthy):
    lab = healthy
    container = lab.nodes["node-a"]["container"]
    lab.docker("stop", container, timeout=60)
    try:
        times = []
        for _ in range(6):
            code, body, seconds = lab.curl(PROBE, connect_timeout=5, max_time=20)
            assert code == 200, body
            assert body["app"] == "node-b"
            times.append(round(seconds, 2))
        print(f"\nnode A stopped: {times} s")
    finally:
        lab.docker("start", container, timeout=60)
        lab.wait_for(lambda: lab.node("node-a", "systemctl is-system-running", check=False).stdout.strip()
                     in ("running", "degraded"), timeout=120, interval=1, what="node A booted")


def test_a_rejected_nginx_configuration_leaves_nginx_serving(healthy):
    from operations.phases import web

    lab = healthy
    live = "/etc/nginx/conf.d/qmha.conf"
    broken = "/etc/qm-ha/nginx/broken.conf"
    before = lab.node("node-a", f"sha1sum {live}").stdout.split()[0]
    lab.node("node-a", f"printf 'server {{ listen 443 ssl; no_such_directive on; }}\\n' > {broken}")
    try:
        proc = lab.node("node-a", web.activate_command(broken, live).get_raw_value(), check=False)
        assert proc.returncode != 0
        assert "rejected" in proc.stderr
        assert lab.node("node-a", f"sha1sum {live}").stdout.split()[0] == before
        code, body, _ = lab.curl(PROBE, via="node-a")
        assert (code, body["app"]) == (200, "node-a")
        assert lab.node("node-a", "nginx -t", check=False).returncode == 0
    finally:
        lab.node("node-a", f"rm -f {broken}")


@pytest.mark.replication
def test_token_written_through_a_is_read_through_b(healthy):
    lab = healthy
    token = f"t-{uuid.uuid4().hex[:12]}"
    code, body, _ = lab.curl(f"{PROBE}?token={token}", via="node-a", method="POST")
    assert code == 200 and body["app"] == "node-a" and int(body["id"]) > 0

    def read_on_b():
        code, body, _ = lab.curl(f"{PROBE}?token={token}", via="node-b")
        return code == 200 and body.get("db") == "node-b" and body.get("found") == "1"

    lab.wait_for(read_on_b, timeout=10, interval=0.2, what=f"token {token} readable through node B from B's database")
