"""State of the application and web tier on a node (testinfra): services, listening sockets, TLS
material. Each test takes a testinfra ``host``."""

from __future__ import annotations

import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

pytestmark = pytest.mark.lab

NGINX_CONF = "/etc/nginx/conf.d/qmha.conf"


def tomcat_unit(host) -> str:
    return "tomcat10" if host.system_info.distribution == "debian" else "tomcat"


def listening(host, port: int) -> set[str]:
    return {s for s in host.socket.get_listening_sockets() if re.fullmatch(rf"tcp://.+:{port}", s)}


def node_address(host) -> str:
    return host.interface("eth0").addresses[0]


def peer_address(host) -> str:
    m = re.search(r"proxy_pass https://([\d.]+):\d+;", host.file(NGINX_CONF).content_string)
    assert m, f"{NGINX_CONF} has no hop to the peer"
    return m.group(1)


def test_nginx_enabled_and_running(host):
    nginx = host.service("nginx")
    assert nginx.is_enabled and nginx.is_running


def test_tomcat_enabled_and_running(host):
    tomcat = host.service(tomcat_unit(host))
    assert tomcat.is_enabled and tomcat.is_running


def test_tomcat_http_only_on_loopback(host):
    assert listening(host, 8080) == {"tcp://127.0.0.1:8080"}


def test_tomcat_https_only_on_the_node_address(host):
    assert listening(host, 8443) == {f"tcp://{node_address(host)}:8443"}


def test_nginx_listens_on_80_and_443_and_the_hop_on_loopback(host):
    assert listening(host, 80) == {"tcp://0.0.0.0:80"}
    assert listening(host, 443) == {"tcp://0.0.0.0:443"}
    assert listening(host, 8081) == {"tcp://127.0.0.1:8081"}


def test_peer_tomcat_https_reachable_but_its_http_connector_not(host):
    peer = peer_address(host)
    assert host.run(f"timeout 3 bash -c '</dev/tcp/{peer}/8443'").rc == 0
    assert host.run(f"timeout 3 bash -c '</dev/tcp/{peer}/8080'").rc != 0


def test_certificate_on_disk_matches_its_key(host):
    cert = x509.load_pem_x509_certificate(host.file("/etc/qm-ha/tls/cluster.crt").content)
    key = serialization.load_pem_private_key(host.file("/etc/qm-ha/tls/cluster.key").content, password=None)
    der = serialization.Encoding.DER
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    assert cert.public_key().public_bytes(der, spki) == key.public_key().public_bytes(der, spki)


def test_certificate_covers_the_names_nginx_serves(host):
    cert = x509.load_pem_x509_certificate(host.file("/etc/qm-ha/tls/cluster.crt").content)
    sans = set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName))
    names = set()
    for line in re.findall(r"^\s*server_name (.+);", host.file(NGINX_CONF).content_string, re.M):
        names |= {n for n in line.split() if n != "_"}
    assert len(names) == 2
    assert names <= sans


def test_key_and_keystore_readable_by_the_tls_group_only(host):
    for path in ("/etc/qm-ha/tls/cluster.key", "/etc/qm-ha/tls/tomcat.p12"):
        f = host.file(path)
        assert (f.user, f.group, f.mode) == ("root", "qmha-tls", 0o640)
    assert "qmha-tls" in host.user("tomcat").groups


def test_webapp_jdbc_url_is_not_world_readable(host):
    web_xml = host.file(f"/var/lib/{tomcat_unit(host)}/webapps/queuemetrics/WEB-INF/web.xml")
    assert web_xml.mode & 0o007 == 0
    assert "jdbc:mariadb:sequential://127.0.0.1:3306," in web_xml.content_string or \
           "jdbc:mysql://127.0.0.1:3306," in web_xml.content_string


def test_tomcat_heap_is_capped(host):
    pid = host.check_output(f"systemctl show -p MainPID --value {tomcat_unit(host)}")
    assert re.search(r"-Xmx\d+[mMgG]", host.file(f"/proc/{pid}/cmdline").content_string.replace("\0", " "))
