"""The customer's certificate (DNS names only, as bought) replaces the cluster's self-signed one on
a running cluster: after one re-run every service that uses it (nginx, Tomcat's peer connector,
MariaDB) serves the new one and replication keeps running, each peer verified by its node FQDN;
going back to the self-signed certificate works the same way."""

from __future__ import annotations


import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from operations import certificates

pytestmark = pytest.mark.lab

PORTS = {"nginx": (443, ""), "tomcat": (8443, ""), "mariadb": (3306, "-starttls mysql ")}


def fingerprint(path) -> str:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))


def served(lab, service: str) -> set[str]:
    """SHA-256 fingerprints of the certificates SERVICE serves on both nodes, each seen from its peer
    (the database and Tomcat's connector are open to the peer only)."""
    port, starttls = PORTS[service]
    seen = set()
    for viewer, target in (("node-a", "node-b"), ("node-b", "node-a")):
        address = lab.node_info(target)["address"]
        out = lab.on(viewer, f"openssl s_client {starttls}-connect {address}:{port} -servername {lab.fqdn} "
                             "</dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256", check=False)
        seen.add(out.strip().split("=", 1)[-1])
    return seen


TABLE = "queuemetrics.qmha_tls_rows"


def replicating_both_ways(lab) -> None:
    lab.log_in_again()  # a fresh TLS handshake with the peer
    lab.sql("node-a", f"CREATE TABLE IF NOT EXISTS {TABLE} (token VARCHAR(32) PRIMARY KEY, origin VARCHAR(16))")
    lab.replicates_both_ways(TABLE)


@pytest.fixture(scope="module")
def customer_tls(lab, tmp_path_factory):
    """A certificate as a customer buys it, from a CA of the test's own: the cluster FQDN and both
    node FQDNs as DNS names, no IP entries (public CAs issue none for private addresses)."""
    folder = tmp_path_factory.mktemp("customer-tls")
    ca_cert, ca_key = certificates._issue_ca("customer")
    key = certificates._new_key()
    cert = certificates._issue_server(ca_cert, ca_key, key, [lab.fqdn, *(n["fqdn"] for n in lab.state["nodes"])], [])
    certificates._write_pair(folder / "ca.crt", folder / "ca.key", ca_cert, ca_key)
    certificates._write_pair(folder / "cluster.crt", folder / "cluster.key", cert, key)
    assert not cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.IPAddress)
    return certificates.load_customer(folder / "cluster.crt", folder / "cluster.key", ca_path=folder / "ca.crt")


@pytest.fixture(scope="module")
def own_cert(lab):
    run = lab.deploy()
    assert run.returncode == 0, run.output[-3000:]
    from operations.paths import PROJECT

    return PROJECT / ".qmha" / lab.fqdn / "tls" / "cluster.crt"


@pytest.mark.parametrize("service", sorted(PORTS))
def test_services_serve_the_clusters_own_certificate(lab, own_cert, service):
    assert served(lab, service) == {fingerprint(own_cert)}


def test_customer_certificate_replaces_the_own_one_in_every_service(lab, own_cert, customer_tls):
    data = ["--data", f"qm_tls_cert={customer_tls.cert_path}", "--data", f"qm_tls_key={customer_tls.key_path}",
            "--data", f"qm_tls_ca={customer_tls.ca_path}"]
    try:
        run = lab.deploy(*data)
        assert run.returncode == 0, run.output[-3000:]
        for service in PORTS:
            assert served(lab, service) == {fingerprint(customer_tls.cert_path)}, service
        replicating_both_ways(lab)
        again = lab.deploy(*data)
        assert again.returncode == 0 and again.changed() == "-", again.output[-3000:]
    finally:
        back = lab.deploy()
    assert back.returncode == 0, back.output[-3000:]
    for service in PORTS:
        assert served(lab, service) == {fingerprint(own_cert)}, service
    replicating_both_ways(lab)
    lab.sql("node-a", f"DROP TABLE IF EXISTS {TABLE}")
