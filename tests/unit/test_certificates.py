import ipaddress
import stat
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from operations.certificates import (
    CertificateError,
    check_names,
    ensure_self_signed,
    load_customer,
    pkcs12_bytes,
    truststore,
)

CLUSTER = "qm.example.com"
NODES = [
    {"name": "qm1", "fqdn": "qm1.example.com", "address": "10.0.0.11"},
    {"name": "qm2", "fqdn": "qm2.example.com", "address": "10.0.0.12"},
]
ALL_NAMES = [CLUSTER, "qm1.example.com", "qm2.example.com"]
ALL_ADDRESSES = ["10.0.0.11", "10.0.0.12"]
NOW = datetime.now(timezone.utc)


def make_key():
    return ec.generate_private_key(ec.SECP256R1())


def make_cert(key, cn, *, issuer=None, issuer_key=None, dns=(), ips=(), ca=False,
              not_before=NOW - timedelta(days=1), not_after=NOW + timedelta(days=365)):
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    san = [x509.DNSName(name) for name in dns]
    san += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


def write_cert(path, *certs):
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    return path


def write_key(path, key):
    path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    return path


def read_cert(path):
    return x509.load_pem_x509_certificate(path.read_bytes())


@pytest.fixture
def customer(tmp_path):
    """A public-style chain: root CA, intermediate and a server certificate."""
    root_key, inter_key, key = make_key(), make_key(), make_key()
    root = make_cert(root_key, "Root", ca=True)
    inter = make_cert(inter_key, "Intermediate", issuer=root, issuer_key=root_key, ca=True)
    cert = make_cert(key, CLUSTER, issuer=inter, issuer_key=inter_key, dns=ALL_NAMES)
    return {
        "key": key,
        "cert": cert,
        "inter": inter,
        "root": root,
        "cert_path": write_cert(tmp_path / "server.crt", cert),
        "key_path": write_key(tmp_path / "server.key", key),
        "chain_path": write_cert(tmp_path / "intermediate.crt", inter),
        "ca_path": write_cert(tmp_path / "root.crt", root),
    }


def customer_with(tmp_path, cert, key):
    return load_customer(write_cert(tmp_path / "c.crt", cert), write_key(tmp_path / "c.key", key))


# Self-signed material


def test_self_signed_covers_cluster_and_node_names(tmp_path):
    tls = ensure_self_signed(tmp_path / "tls", CLUSTER, NODES)
    assert check_names(tls, ALL_NAMES, ALL_ADDRESSES) == []


def test_self_signed_material_is_owner_only(tmp_path):
    tls = ensure_self_signed(tmp_path / "tls", CLUSTER, NODES)
    assert stat.S_IMODE((tmp_path / "tls").stat().st_mode) == 0o700
    assert stat.S_IMODE(tls.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "tls" / "ca.key").stat().st_mode) == 0o600


def test_ca_is_named_for_cluster_and_valid_ten_years(tmp_path):
    ca = read_cert(ensure_self_signed(tmp_path / "tls", CLUSTER, NODES).ca_path)
    assert ca.subject.rfc4514_string() == f"CN=qm-ha CA {CLUSTER}"
    assert ca.not_valid_after_utc - NOW > timedelta(days=3649)


def test_ca_can_only_sign_certificates_and_crls(tmp_path):
    ca = read_cert(ensure_self_signed(tmp_path / "tls", CLUSTER, NODES).ca_path)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature


def test_server_cert_is_signed_by_ca(tmp_path):
    tls = ensure_self_signed(tmp_path / "tls", CLUSTER, NODES)
    read_cert(tls.cert_path).verify_directly_issued_by(read_cert(tls.ca_path))
    assert tls.self_signed


def test_generated_keys_are_rsa_for_mariadb_55(tmp_path):
    from cryptography.hazmat.primitives.asymmetric import rsa

    tls = ensure_self_signed(tmp_path / "tls", CLUSTER, NODES)
    for path in (tls.cert_path, tls.ca_path):
        key = read_cert(path).public_key()
        assert isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048
    usage = read_cert(tls.cert_path).extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_encipherment and not usage.key_cert_sign


def test_server_cert_allows_server_and_client_auth(tmp_path):
    cert = read_cert(ensure_self_signed(tmp_path / "tls", CLUSTER, NODES).cert_path)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}


def test_server_cert_is_valid_825_days_at_most(tmp_path):
    tls = ensure_self_signed(tmp_path / "tls", CLUSTER, NODES)
    cert = read_cert(tls.cert_path)
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=825)
    assert tls.not_after == cert.not_valid_after_utc


def test_chain_is_server_cert_then_ca(tmp_path):
    tls = ensure_self_signed(tmp_path / "tls", CLUSTER, NODES)
    assert tls.chain_path.read_bytes() == tls.cert_path.read_bytes() + tls.ca_path.read_bytes()


def test_second_call_reuses_same_files(tmp_path):
    first = ensure_self_signed(tmp_path / "tls", CLUSTER, NODES)
    before = {p.name: p.read_bytes() for p in (tmp_path / "tls").iterdir()}
    second = ensure_self_signed(tmp_path / "tls", CLUSTER, NODES)
    assert {p.name: p.read_bytes() for p in (tmp_path / "tls").iterdir()} == before
    assert second == first


def test_renamed_node_reissues_server_cert_with_same_ca(tmp_path):
    first = ensure_self_signed(tmp_path / "tls", CLUSTER, NODES)
    ca_before, cert_before = first.ca_path.read_bytes(), first.cert_path.read_bytes()
    renamed = [NODES[0], {**NODES[1], "fqdn": "qm3.example.com", "address": "10.0.0.13"}]
    second = ensure_self_signed(tmp_path / "tls", CLUSTER, renamed)
    assert second.ca_path.read_bytes() == ca_before
    assert second.cert_path.read_bytes() != cert_before
    assert check_names(second, ["qm3.example.com"], ["10.0.0.13"]) == []
    read_cert(second.cert_path).verify_directly_issued_by(read_cert(second.ca_path))


def test_expiring_server_cert_is_reissued(tmp_path):
    tls = ensure_self_signed(tmp_path / "tls", CLUSTER, NODES)
    ca_key = serialization.load_pem_private_key((tmp_path / "tls" / "ca.key").read_bytes(), None)
    key = serialization.load_pem_private_key(tls.key_path.read_bytes(), None)
    short = make_cert(key, CLUSTER, issuer=read_cert(tls.ca_path), issuer_key=ca_key,
                      dns=ALL_NAMES, ips=ALL_ADDRESSES, not_after=NOW + timedelta(days=10))
    write_cert(tls.cert_path, short)
    renewed = ensure_self_signed(tmp_path / "tls", CLUSTER, NODES)
    assert renewed.not_after - NOW > timedelta(days=800)


# Customer material


def test_customer_chain_holds_cert_intermediate_and_ca(tmp_path, customer):
    tls = load_customer(customer["cert_path"], customer["key_path"],
                        customer["chain_path"], customer["ca_path"])
    chain = x509.load_pem_x509_certificates(tls.chain_path.read_bytes())
    assert chain == [customer["cert"], customer["inter"], customer["root"]]
    assert tls.ca_path == customer["ca_path"]
    assert tls.warnings == ()


def test_customer_full_chain_file_is_used_as_is(tmp_path, customer):
    full = write_cert(tmp_path / "fullchain.pem", customer["cert"], customer["inter"])
    tls = load_customer(full, customer["key_path"])
    assert tls.chain_path == full
    assert tls.ca_path is None


def test_missing_intermediate_gives_warning(customer):
    tls = load_customer(customer["cert_path"], customer["key_path"])
    assert len(tls.warnings) == 1
    assert "Intermediate" in tls.warnings[0]


def test_missing_file_is_refused(tmp_path, customer):
    with pytest.raises(CertificateError, match="missing.key: private key file not found"):
        load_customer(customer["cert_path"], tmp_path / "missing.key")


def test_unreadable_file_is_refused(tmp_path, customer):
    with pytest.raises(CertificateError, match="cannot read certificate file"):
        load_customer(tmp_path, customer["key_path"])


def test_non_pem_certificate_is_refused(tmp_path, customer):
    der = tmp_path / "server.der"
    der.write_bytes(customer["cert"].public_bytes(serialization.Encoding.DER))
    with pytest.raises(CertificateError, match="server.der: not a PEM certificate.*openssl x509"):
        load_customer(der, customer["key_path"])


def test_non_pem_key_is_refused(tmp_path, customer):
    with pytest.raises(CertificateError, match="server.crt: not a PEM private key"):
        load_customer(customer["cert_path"], customer["cert_path"])


def test_encrypted_key_is_refused(tmp_path, customer):
    locked = tmp_path / "locked.key"
    locked.write_bytes(customer["key"].private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    ))
    with pytest.raises(CertificateError, match="locked.key: private key is protected"):
        load_customer(customer["cert_path"], locked)


def test_key_not_matching_certificate_is_refused(tmp_path, customer):
    other = write_key(tmp_path / "other.key", make_key())
    with pytest.raises(CertificateError, match="other.key: this private key does not belong"):
        load_customer(customer["cert_path"], other)


def test_expired_certificate_is_refused(tmp_path):
    key = make_key()
    old = make_cert(key, CLUSTER, not_before=NOW - timedelta(days=400),
                    not_after=NOW - timedelta(days=1))
    with pytest.raises(CertificateError, match="c.crt: certificate expired on .*renew"):
        customer_with(tmp_path, old, key)


def test_not_yet_valid_certificate_is_refused(tmp_path):
    key = make_key()
    future = make_cert(key, CLUSTER, not_before=NOW + timedelta(days=2))
    with pytest.raises(CertificateError, match="c.crt: certificate is not valid before"):
        customer_with(tmp_path, future, key)


def test_certificate_expiring_soon_gives_warning(tmp_path):
    key = make_key()
    soon = make_cert(key, CLUSTER, not_after=NOW + timedelta(days=10))
    tls = customer_with(tmp_path, soon, key)
    assert len(tls.warnings) == 1
    assert "c.crt: certificate expires on" in tls.warnings[0]


def test_certificate_error_is_a_value_error():
    assert issubclass(CertificateError, ValueError)


# Name checks


def test_wildcard_covers_one_label_only(tmp_path):
    key = make_key()
    tls = customer_with(tmp_path, make_cert(key, "wild", dns=["*.example.com"]), key)
    names = ["qm1.example.com", "a.qm1.example.com", "example.com"]
    assert check_names(tls, names, []) == ["a.qm1.example.com", "example.com"]


def test_ip_address_needs_ip_san(tmp_path):
    key = make_key()
    cert = make_cert(key, "10.0.0.11", dns=["10.0.0.12"], ips=["10.0.0.11"])
    tls = customer_with(tmp_path, cert, key)
    assert check_names(tls, [], ["10.0.0.11", "10.0.0.12"]) == ["10.0.0.12"]


def test_names_are_case_insensitive(tmp_path):
    key = make_key()
    tls = customer_with(tmp_path, make_cert(key, CLUSTER, dns=["QM.Example.com"]), key)
    assert check_names(tls, ["qm.example.COM"], []) == []


def test_common_name_used_only_without_san(tmp_path):
    key = make_key()
    without_san = customer_with(tmp_path, make_cert(key, CLUSTER), key)
    assert check_names(without_san, [CLUSTER], []) == []
    with_san = customer_with(tmp_path, make_cert(key, CLUSTER, dns=["other.example.com"]), key)
    assert check_names(with_san, [CLUSTER], []) == [CLUSTER]


# Tomcat keystore


def test_pkcs12_roundtrip(tmp_path):
    tls = ensure_self_signed(tmp_path / "tls", CLUSTER, NODES)
    store = pkcs12.load_pkcs12(pkcs12_bytes(tls, "s3cret"), b"s3cret")
    key = serialization.load_pem_private_key(tls.key_path.read_bytes(), None)
    assert store.key.private_numbers() == key.private_numbers()
    assert store.cert.certificate == read_cert(tls.cert_path)
    assert store.cert.friendly_name == b"tomcat"
    assert [c.certificate for c in store.additional_certs] == [read_cert(tls.ca_path)]


def test_pkcs12_needs_the_password(tmp_path):
    tls = ensure_self_signed(tmp_path / "tls", CLUSTER, NODES)
    with pytest.raises(ValueError):
        pkcs12.load_pkcs12(pkcs12_bytes(tls, "s3cret"), b"wrong")


# The JDBC truststore


def test_jdbc_truststore_holds_the_cluster_certificate_alone_without_a_key(tmp_path):
    tls = ensure_self_signed(tmp_path / "tls", CLUSTER, NODES)
    store = pkcs12.load_pkcs12(truststore(tls, tmp_path / "trust.p12"), None)
    assert store.key is None and store.cert is None
    assert [c.certificate for c in store.additional_certs] == [read_cert(tls.cert_path)]


def test_jdbc_truststore_is_kept_while_the_certificate_is_unchanged(tmp_path):
    tls = ensure_self_signed(tmp_path / "tls", CLUSTER, NODES)
    first = truststore(tls, tmp_path / "trust.p12")
    assert truststore(tls, tmp_path / "trust.p12") == first


def test_jdbc_truststore_follows_a_new_certificate(tmp_path):
    tls = ensure_self_signed(tmp_path / "tls", CLUSTER, NODES)
    truststore(tls, tmp_path / "trust.p12")
    renamed = ensure_self_signed(tmp_path / "tls", CLUSTER, [NODES[0], {**NODES[1], "fqdn": "node-c.example.com"}])
    store = pkcs12.load_pkcs12(truststore(renamed, tmp_path / "trust.p12"), None)
    assert [c.certificate for c in store.additional_certs] == [read_cert(renamed.cert_path)]
