"""Decisions of the application and web phases: JDBC URL, server.xml, web.xml, nginx configuration."""

import re
import xml.etree.ElementTree as ET
from urllib.parse import unquote_plus

import pytest
from jinja2 import Environment, FileSystemLoader

from operations import certificates, knobs, paths
from operations.phases import web
from operations.phases.app import tomcat as tomcat_mod, webapp
from operations.cluster import Cluster, NodeSpec
from operations.platform import PLATFORMS

A = NodeSpec(host_name="node-a", fqdn="node-a.example.com", address="192.168.1.5", ssh_port=22)
B = NodeSpec(host_name="node-b", fqdn="node-b.example.com", address="192.168.1.6", ssh_port=22)


def cluster_as(me):
    return Cluster(fqdn="queuemetrics.example.com", nodes=(A, B), me=me)


# ---------------------------------------------------------------- JDBC


def test_mariadb_url_is_sequential_local_first_then_peer():
    url = webapp.jdbc_url("mariadb", "192.168.1.6", "queuemetrics", "qm", "pw", 2000, 15000)
    assert url.startswith("jdbc:mariadb:sequential://127.0.0.1:3306,192.168.1.6:3306/queuemetrics?")


def test_mariadb_url_has_explicit_timeouts_and_credentials():
    url = webapp.jdbc_url("mariadb", "192.168.1.6", "queuemetrics", "qm", "pw", 1500, 9000)
    query = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))
    assert {k: query[k] for k in ("user", "password", "connectTimeout", "socketTimeout")} == {
        "user": "qm", "password": "pw", "connectTimeout": "1500", "socketTimeout": "9000"}


def query_of(url: str) -> dict:
    return {k: unquote_plus(v) for k, v in (p.split("=", 1) for p in url.split("?", 1)[1].split("&"))}


def test_a_path_in_the_url_keeps_its_slashes_for_a_driver_that_does_not_decode():
    url = webapp.jdbc_url("mariadb", "192.168.1.6", "queuemetrics", "qm", "p/w&x", 2000, 15000)
    assert "serverSslCert=/etc/qm-ha/tls/cluster.crt" in url
    assert query_of(url)["password"] == "p/w&x"  # & is still encoded: it would end the value


def test_mariadb_url_speaks_tls_and_accepts_only_the_cluster_certificate():
    query = query_of(webapp.jdbc_url("mariadb", "192.168.1.6", "queuemetrics", "qm", "pw", 2000, 15000))
    assert query["useSSL"] == "true"
    assert query["serverSslCert"] == "/etc/qm-ha/tls/cluster.crt"  # the leaf alone: a pin, not a CA's chain
    assert "trustServerCertificate" not in query


def test_mysql_url_speaks_tls_verified_against_the_cluster_truststore_in_every_connector_version():
    query = query_of(webapp.jdbc_url("mysql", "10.0.0.2", "qmdb", "qm", "pw", 2000, 15000))
    assert query["sslMode"] == "VERIFY_CA"  # Connector/J 8 and later
    assert (query["useSSL"], query["requireSSL"], query["verifyServerCertificate"]) == ("true",) * 3  # 5.1
    assert query["trustCertificateKeyStoreUrl"] == "file:/etc/qm-ha/tls/jdbc-trust.p12"
    assert query["trustCertificateKeyStoreType"] == "PKCS12"


def test_mysql_url_fails_over_writable_in_order():
    url = webapp.jdbc_url("mysql", "10.0.0.2", "qmdb", "qm", "pw", 2000, 15000, port=3307)
    assert url.startswith("jdbc:mysql://127.0.0.1:3307,10.0.0.2:3307/qmdb?")
    query = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))
    assert query["failOverReadOnly"] == "false"
    assert query["connectTimeout"] == "2000" and query["socketTimeout"] == "15000"
    assert "sequential" not in url


@pytest.mark.parametrize("mode, knob, expected", [
    ("standin", None, "mariadb"), ("war", None, "mysql"), ("loway", None, "mysql"), ("war", "mariadb", "mariadb"),
])
def test_driver_follows_the_mode_unless_set(mode, knob, expected):
    assert webapp.jdbc_driver(mode, knob) == expected


def test_unknown_driver_is_refused():
    with pytest.raises(tomcat_mod.AppConfigError, match="qm_jdbc_driver"):
        webapp.jdbc_driver("standin", "postgres")


def test_unknown_mode_is_refused():
    with pytest.raises(tomcat_mod.AppConfigError, match="qm_app_mode"):
        tomcat_mod.tomcat_for(PLATFORMS["debian12"], "docker")


def test_loway_mode_is_refused_on_debian():
    with pytest.raises(tomcat_mod.AppConfigError, match="loway"):
        tomcat_mod.tomcat_for(PLATFORMS["debian12"], "loway")


def test_loway_mode_uses_loways_tomcat_on_el7():
    tomcat = tomcat_mod.tomcat_for(PLATFORMS["el7"], "loway")
    assert (tomcat.service, tomcat.conf_dir) == ("qm-tomcat6", "/usr/local/queuemetrics/tomcat/conf")


# ---------------------------------------------------------------- web.xml


WEB_XML = """<web-app>
  <context-param>
    <param-name>JDBC_URL</param-name>
    <param-value>jdbc:mysql://127.0.0.1/queuemetrics?user=queuemetrics&amp;password=javadude</param-value>
  </context-param>
  <context-param>
    <param-name>LOCALE</param-name>
    <param-value>en</param-value>
  </context-param>
</web-app>
"""


def param_values(text):
    root = ET.fromstring(text)
    return {p.findtext("param-name").strip(): p.findtext("param-value") for p in root.iter("context-param")}


def test_set_context_param_replaces_only_jdbc_url_escaped():
    url = "jdbc:mysql://127.0.0.1:3306,10.0.0.2:3306/queuemetrics?a=1&b=2"
    values = param_values(webapp.set_context_param(WEB_XML, "JDBC_URL", url))
    assert values == {"JDBC_URL": url, "LOCALE": "en"}


def test_set_context_param_without_the_param_is_an_error():
    with pytest.raises(tomcat_mod.AppConfigError, match="JDBC_URL"):
        webapp.set_context_param("<web-app/>", "JDBC_URL", "x")


def test_standin_web_xml_template_holds_the_url_as_context_param():
    env = Environment(loader=FileSystemLoader(str(paths.TEMPLATES)))
    url = webapp.jdbc_url("mariadb", "192.168.1.6", "queuemetrics", "qm", "pw", 2000, 15000)
    text = env.get_template("queuemetrics/web.xml.j2").render(jdbc_url=url)
    ns = {"j": "http://java.sun.com/xml/ns/javaee"}
    root = ET.fromstring(text)
    assert root.find("j:context-param/j:param-value", ns).text == url
    assert root.find("j:servlet-mapping/j:url-pattern", ns).text == "/probe"


def test_war_is_unpacked_with_the_url_set(tmp_path):
    import zipfile

    war = tmp_path / "queuemetrics.war"
    with zipfile.ZipFile(war, "w") as z:
        z.writestr("WEB-INF/web.xml", WEB_XML)
        z.writestr("index.jsp", "hello")
    target = webapp.unpack_war(war, tmp_path / "work", "jdbc:mysql://x/y?a=1&b=2")
    assert (target / "index.jsp").read_text() == "hello"
    assert param_values((target / "WEB-INF/web.xml").read_text())["JDBC_URL"] == "jdbc:mysql://x/y?a=1&b=2"


def test_missing_war_is_a_clear_error(tmp_path):
    with pytest.raises(tomcat_mod.AppConfigError, match="does not exist"):
        webapp.unpack_war(tmp_path / "nope.war", tmp_path / "work", "jdbc:mysql://x/y")


# ---------------------------------------------------------------- server.xml


def java_full_match(regex, text):
    """Tomcat's RemoteAddrValve matches the whole address, as re.fullmatch does."""
    return re.fullmatch(regex, text) is not None


@pytest.mark.parametrize("key", ["el7", "debian12"])
def test_server_xml_http_on_loopback_https_on_node_address(key):
    tomcat = PLATFORMS[key].tomcat
    root = ET.fromstring(tomcat_mod.server_xml(tomcat, "192.168.1.5", "192.168.1.6", 8080, 8443, "ks-pass"))
    connectors = {c.get("port"): c for c in root.iter("Connector")}
    assert set(connectors) == {"8080", "8443"}
    assert connectors["8080"].get("address") == "127.0.0.1"
    assert connectors["8080"].get("SSLEnabled") is None
    assert connectors["8443"].get("address") == "192.168.1.5"
    assert connectors["8443"].get("SSLEnabled") == "true"
    assert root.get("port") == "-1"
    host = root.find("Service/Engine/Host")
    assert host.get("appBase") == tomcat.webapps_dir


def test_server_xml_tomcat10_uses_sslhostconfig_with_tls12_plus():
    root = ET.fromstring(tomcat_mod.server_xml(PLATFORMS["debian12"].tomcat, "192.168.1.5", "192.168.1.6", 8080, 8443, "pw"))
    ssl = root.find(".//Connector[@port='8443']/SSLHostConfig")
    assert ssl.get("protocols") == "TLSv1.2+TLSv1.3"
    cert = ssl.find("Certificate")
    assert cert.get("certificateKeystoreFile") == paths.KEYSTORE
    assert cert.get("certificateKeystorePassword") == "pw"
    assert cert.get("certificateKeystoreType") == "PKCS12"


def test_server_xml_tomcat7_uses_connector_keystore_attributes():
    root = ET.fromstring(tomcat_mod.server_xml(PLATFORMS["el7"].tomcat, "192.168.1.5", "192.168.1.6", 8080, 8443, "pw"))
    https = root.find(".//Connector[@port='8443']")
    assert https.find("SSLHostConfig") is None
    assert (https.get("keystoreFile"), https.get("keystorePass"), https.get("keystoreType")) == (paths.KEYSTORE, "pw", "PKCS12")
    assert https.get("sslEnabledProtocols") == "TLSv1.2"


def test_server_xml_lets_in_loopback_and_the_peer_only():
    root = ET.fromstring(tomcat_mod.server_xml(PLATFORMS["debian12"].tomcat, "192.168.1.5", "192.168.1.6", 8080, 8443, "pw"))
    valves = [v for v in root.iter("Valve")]
    names = [v.get("className").rsplit(".", 1)[1] for v in valves]
    # Access control first: RemoteIpValve would otherwise replace the address with X-Forwarded-For.
    assert names == ["RemoteAddrValve", "RemoteIpValve"]
    allow = valves[0].get("allow")
    assert java_full_match(allow, "127.0.0.1") and java_full_match(allow, "192.168.1.6")
    assert not java_full_match(allow, "192.168.1.5")
    assert not java_full_match(allow, "192.168.1.60")
    assert not java_full_match(allow, "192.168.136")


# ---------------------------------------------------------------- keystore


def test_keystore_is_reused_while_the_certificate_is_the_same(tmp_path):
    nodes = [{"name": n.short_name, "fqdn": n.fqdn, "address": n.address} for n in (A, B)]
    material = certificates.ensure_self_signed(tmp_path / "tls", "queuemetrics.example.com", nodes)
    first = certificates.keystore(material, "pw", tmp_path / "ks.p12")
    assert certificates.keystore(material, "pw", tmp_path / "ks.p12") == first
    (tmp_path / "tls" / "cluster.crt").unlink()
    renewed = certificates.ensure_self_signed(tmp_path / "tls", "queuemetrics.example.com", nodes)
    assert certificates.keystore(renewed, "pw", tmp_path / "ks.p12") != first


# ---------------------------------------------------------------- nginx


def render(me, key="debian12", data=None, ca_known=True):
    return web.nginx_conf(cluster_as(me), PLATFORMS[key], knobs.read(me, data or {}), ca_known=ca_known)


def block(text, header):
    """The body of the first block whose header line matches HEADER (balanced braces)."""
    m = re.search(header, text)
    assert m, f"no block {header!r}"
    start = text.find("{", m.start()) + 1
    depth, i = 1, start
    while depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[start:i - 1]


def test_upstream_local_tomcat_first_then_hop_as_backup():
    upstream = block(render(A), r"upstream qmha_tomcat")
    servers = re.findall(r"^\s*server\s+(.+);", upstream, re.M)
    assert servers[0].startswith("127.0.0.1:8080 ")
    assert servers[1] == "127.0.0.1:8008 backup"
    assert re.search(r"^\s*zone qmha_tomcat \d+k;", upstream, re.M)


@pytest.mark.parametrize("me, peer", [(A, B), (B, A)])
def test_hop_goes_to_the_peers_tomcat_over_verified_tls(me, peer):
    hop = block(render(me), r"server\s*\{\s*listen 127\.0\.0\.1:8008;")
    assert f"proxy_pass https://{peer.address}:8443;" in hop
    assert "proxy_ssl_verify on;" in hop
    assert f"proxy_ssl_name {peer.fqdn};" in hop
    assert "proxy_ssl_trusted_certificate /etc/qm-ha/tls/ca.crt;" in hop


def test_hop_trusts_the_system_cas_for_a_public_certificate():
    assert "proxy_ssl_trusted_certificate /etc/pki/tls/certs/ca-bundle.crt;" in render(A, "el7", ca_known=False)


@pytest.mark.parametrize("me, other", [(A, B), (B, A)])
def test_https_serves_cluster_and_own_fqdn(me, other):
    text = render(me)
    names = re.findall(r"^\s*server_name (.+);", text, re.M)
    assert names[:2] == [f"queuemetrics.example.com {me.fqdn}"] * 2
    assert other.fqdn not in " ".join(names)


def test_port_80_redirects_to_https():
    text = render(A)
    plain = block(text, r"server\s*\{\s*listen 80;")
    assert "return 301 https://$host$request_uri;" in plain
    assert "proxy_pass" not in plain


def test_tls_settings_and_failover_rules():
    tls_block = block(render(A), r"server\s*\{\s*listen 443 ssl;")
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in tls_block
    assert "ssl_certificate /etc/qm-ha/tls/cluster-chain.crt;" in tls_block
    assert "ssl_certificate_key /etc/qm-ha/tls/cluster.key;" in tls_block
    assert 'add_header Strict-Transport-Security "max-age=31536000" always;' in tls_block
    assert "proxy_next_upstream error timeout http_502 http_503;" in tls_block
    assert "proxy_connect_timeout 1s;" in tls_block


def test_knobs_reach_the_configuration():
    text = render(A, data={"qm_tomcat_http_port": 9080, "qm_tomcat_https_port": 9443, "qm_web_peer_hop_port": 9081,
                           "qm_hsts_max_age": 600, "qm_web_connect_timeout_s": 3})
    assert "server 127.0.0.1:9080 " in text and "server 127.0.0.1:9081 backup;" in text
    assert "listen 127.0.0.1:9081;" in text and "https://192.168.1.6:9443;" in text
    assert "max-age=600" in text and "proxy_connect_timeout 3s;" in text


def test_licence_key_from_the_environment_wins_over_the_file(tmp_path):
    key = tmp_path / "node-a.key"
    key.write_text("QM-FROM-FILE\n")
    assert webapp.licence_key("node-a", str(key), environ={}) == "QM-FROM-FILE"
    assert webapp.licence_key("node-a", str(key), environ={"QMHA_LICENCE_NODE_A": "QM-FROM-ENV"}) == "QM-FROM-ENV"
    assert webapp.licence_key("node-a", None, environ={}) is None


def test_a_licence_file_holding_more_than_the_key_is_refused(tmp_path):
    key = tmp_path / "node-a.key"
    key.write_text("Licence for ACME: QM-1234\n")
    with pytest.raises(tomcat_mod.AppConfigError, match="not one word"):
        webapp.licence_key("node-a", str(key), environ={})


def test_the_restart_wait_ends_when_sysup_answers_and_lets_the_next_step_run(tmp_path):
    """The wait is a command of its own: what follows it (nginx's fail_timeout) still runs."""
    import http.server
    import subprocess
    import threading

    class Sysup(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/queuemetrics/sysup.jsp" else 404)
            self.end_headers()
            self.wfile.write(b'{"state":"QMUP"}')

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Sysup)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        ok = subprocess.run(["sh", "-c", tomcat_mod.answers_command(port, 5) + " && echo next"],
                            capture_output=True, text=True, timeout=30)
        assert (ok.returncode, ok.stdout.strip()) == (0, "next")
    finally:
        server.shutdown()
    closed = subprocess.run(["sh", "-c", tomcat_mod.answers_command(port, 2) + " && echo next"],
                            capture_output=True, text=True, timeout=30)
    assert closed.returncode == 1 and "next" not in closed.stdout and "did not serve" in closed.stderr


@pytest.mark.parametrize("key", ["el7", "debian12"])
def test_server_xml_connectors_listen_only_once_tomcat_has_started(key):
    """A Tomcat still deploying the webapp refuses connections (nginx goes to the peer at once) instead
    of accepting them into a queue nobody serves yet."""
    root = ET.fromstring(tomcat_mod.server_xml(PLATFORMS[key].tomcat, "192.168.1.5", "192.168.1.6", 8080, 8443, "pw"))
    assert [c.get("bindOnInit") for c in root.iter("Connector")] == ["false", "false"]


def test_tomcat_takes_a_change_one_node_at_a_time_only_where_nginx_routes_to_it():
    assert tomcat_mod.restart_way(changed=False, routed=True) is None
    assert tomcat_mod.restart_way(changed=False, routed=False) is None
    assert tomcat_mod.restart_way(changed=True, routed=True) == "one at a time"
    assert tomcat_mod.restart_way(changed=True, routed=False) == "at once"
