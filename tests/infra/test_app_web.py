"""State of the application and web tier on a node (testinfra): services, listening sockets, TLS
material. Each test takes a testinfra ``host``; units, paths and ports come from the platform row
and the node's knobs (``tomcat``, ``knobs``, ``spec``), so it holds in every install mode."""

from __future__ import annotations

import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

pytestmark = pytest.mark.lab

from operations import paths


def listening(host, port: int) -> set[str]:
    return {s for s in host.socket.get_listening_sockets() if re.fullmatch(rf"tcp://.+:{port}", s)}


@pytest.fixture
def nginx_conf(platform) -> str:
    return f"{platform.nginx.conf_d}/qmha.conf"


def test_node_address_is_on_its_interface(host, knobs, spec):
    assert spec.me.address in host.interface(knobs.qm_interface).addresses


def test_nginx_enabled_and_running(host, platform):
    nginx = host.service(platform.nginx.service)
    assert nginx.is_enabled and nginx.is_running


def test_tomcat_enabled_and_running(host, tomcat):
    service = host.service(tomcat.service)
    assert service.is_enabled and service.is_running


def test_tomcat_http_only_on_loopback(host, knobs):
    port = knobs.qm_tomcat_http_port
    assert listening(host, port) == {f"tcp://127.0.0.1:{port}"}


def test_tomcat_https_only_on_the_node_address(host, knobs, spec):
    port = knobs.qm_tomcat_https_port
    assert listening(host, port) == {f"tcp://{spec.me.address}:{port}"}


def test_nginx_listens_on_80_and_443_and_the_hop_on_loopback(host, knobs):
    assert listening(host, 80) == {"tcp://0.0.0.0:80"}
    assert listening(host, 443) == {"tcp://0.0.0.0:443"}
    assert listening(host, knobs.qm_web_peer_hop_port) == {f"tcp://127.0.0.1:{knobs.qm_web_peer_hop_port}"}


def test_nginx_hops_to_the_peers_tomcat_over_tls(host, knobs, spec, nginx_conf):
    assert f"proxy_pass https://{spec.peer.address}:{knobs.qm_tomcat_https_port};" in host.file(nginx_conf).content_string


def test_peer_tomcat_https_reachable_but_its_http_connector_not(host, knobs, spec):
    peer = spec.peer.address
    assert host.run(f"timeout 3 bash -c '</dev/tcp/{peer}/{knobs.qm_tomcat_https_port}'").rc == 0
    assert host.run(f"timeout 3 bash -c '</dev/tcp/{peer}/{knobs.qm_tomcat_http_port}'").rc != 0


def test_certificate_on_disk_matches_its_key(host):
    cert = x509.load_pem_x509_certificate(host.file(paths.TLS["cert"]).content)
    key = serialization.load_pem_private_key(host.file(paths.TLS["key"]).content, password=None)
    der = serialization.Encoding.DER
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    assert cert.public_key().public_bytes(der, spki) == key.public_key().public_bytes(der, spki)


def test_certificate_covers_the_names_nginx_serves(host, nginx_conf):
    cert = x509.load_pem_x509_certificate(host.file(paths.TLS["cert"]).content)
    sans = set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName))
    names = set()
    for line in re.findall(r"^\s*server_name (.+);", host.file(nginx_conf).content_string, re.M):
        names |= {n for n in line.split() if n != "_"}
    assert len(names) == 2
    assert names <= sans


def test_key_and_keystore_readable_by_the_tls_group_only(host, tomcat):
    for path in (paths.TLS["key"], paths.KEYSTORE):
        f = host.file(path)
        assert (f.user, f.group, f.mode) == ("root", "qmha-tls", 0o640)
    if tomcat.user != "root":
        assert "qmha-tls" in host.user(tomcat.user).groups


def test_webapp_jdbc_url_is_not_world_readable(host, tomcat):
    web_xml = host.file(f"{paths.webapp_dir(tomcat.webapps_dir)}/WEB-INF/web.xml")
    assert web_xml.mode & 0o007 == 0
    assert "jdbc:mariadb:sequential://127.0.0.1:3306," in web_xml.content_string or \
           "jdbc:mysql://127.0.0.1:3306," in web_xml.content_string


def test_tomcat_heap_is_capped(host, tomcat):
    pid = host.check_output(f"systemctl show -p MainPID --value {tomcat.service}")
    assert re.search(r"-Xmx\d+[mMgG]", host.file(f"/proc/{pid}/cmdline").content_string.replace("\0", " "))
