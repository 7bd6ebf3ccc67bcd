"""
TLS material for the cluster, prepared on the operator's machine before the deploy.

Either qm-ha generates a private CA and one server certificate covering the cluster name
and both nodes, or the customer provides a certificate, which is validated here so that
problems show up before anything is changed on the servers. The same certificate serves
nginx (PEM chain), Tomcat (PKCS#12 keystore) and MariaDB replication (as server and as
client).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .atomic import write_atomic

CA_VALIDITY = timedelta(days=3650)
SERVER_VALIDITY = timedelta(days=825)
RENEW_BEFORE = timedelta(days=30)
# Backdate new certificates a little so a server clock slightly behind still accepts them.
CLOCK_SKEW = timedelta(minutes=5)
# Generated keys are RSA: CentOS 7's MariaDB 5.5 (OpenSSL 1.0.2, no ECDH set-up) cannot serve an ECDSA
# certificate ("no shared cipher"), and RSA works with every TLS stack of both families.
RSA_BITS = 2048


def _new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)

PEM = serialization.Encoding.PEM


class CertificateError(ValueError):
    """TLS material is missing, unreadable or unusable for the cluster."""


@dataclass(frozen=True)
class ClusterTLS:
    """
    TLS material for the cluster, as PEM files on the operator's machine.

    + cert_path: server certificate
    + key_path: unencrypted private key of the server certificate
    + chain_path: server certificate, then intermediates, then the CA when known
    + ca_path: CA certificate; ``None`` for a publicly signed certificate given without it
    + self_signed: ``True`` when qm-ha generated the CA and certificate
    + not_after: expiry of the server certificate (UTC)
    + warnings: problems that do not stop the deploy, such as an expiry within 30 days
    """

    cert_path: Path
    key_path: Path
    chain_path: Path
    ca_path: Path | None
    self_signed: bool
    not_after: datetime
    warnings: tuple[str, ...] = ()


def ensure_self_signed(material_dir: Path, cluster_fqdn: str, nodes: list[dict]) -> ClusterTLS:
    """
    Generate, or reuse, a cluster CA and one server certificate for the cluster and its nodes.

    + material_dir: directory for the files, created owner-only (``ca.crt``, ``ca.key``,
      ``cluster.crt``, ``cluster.key`` and ``cluster-chain.crt`` for nginx)
    + cluster_fqdn: name clients use to reach the cluster
    + nodes: dicts with ``name``, ``fqdn`` and ``address`` (IPv4) for each node

    Existing files are kept byte for byte while they cover every name and address and
    are valid for more than 30 days. When a node is added or renamed only the server
    certificate is issued again, by the same CA, so clients trusting it need no change.

    **Example:**

    .. code:: python

        tls = ensure_self_signed(
            Path("tls"),
            "qm.example.com",
            [
                {"name": "qm1", "fqdn": "qm1.example.com", "address": "10.0.0.11"},
                {"name": "qm2", "fqdn": "qm2.example.com", "address": "10.0.0.12"},
            ],
        )
    """
    material_dir = Path(material_dir)
    material_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca_crt, ca_key = material_dir / "ca.crt", material_dir / "ca.key"
    crt, key = material_dir / "cluster.crt", material_dir / "cluster.key"
    chain = material_dir / "cluster-chain.crt"
    names = list(dict.fromkeys([cluster_fqdn, *(node["fqdn"] for node in nodes)]))
    addresses = [node["address"] for node in nodes]

    ca_cert, ca_private = _reusable_pair(ca_crt, ca_key)
    server_cert = None
    if ca_cert is None:
        ca_cert, ca_private = _issue_ca(cluster_fqdn)
        _write_pair(ca_crt, ca_key, ca_cert, ca_private)
    else:
        server_cert, _ = _reusable_pair(crt, key)

    if server_cert is None or _uncovered(server_cert, names, addresses):
        server_private = _new_key()
        server_cert = _issue_server(ca_cert, ca_private, server_private, names, addresses)
        _write_pair(crt, key, server_cert, server_private)

    _write_if_changed(chain, crt.read_bytes() + ca_crt.read_bytes(), 0o644)
    return ClusterTLS(
        cert_path=crt,
        key_path=key,
        chain_path=chain,
        ca_path=ca_crt,
        self_signed=True,
        not_after=server_cert.not_valid_after_utc,
    )


def load_customer(
    cert_path: Path,
    key_path: Path,
    chain_path: Path | None = None,
    ca_path: Path | None = None,
) -> ClusterTLS:
    """
    Validate a customer-provided certificate and key before they are deployed.

    + cert_path: server certificate in PEM; may already be followed by intermediates
    + key_path: matching unencrypted private key in PEM
    + chain_path: intermediate certificates in PEM, if not in ``cert_path``
    + ca_path: root CA in PEM; optional for publicly signed certificates

    Raises ``CertificateError`` naming the file, the problem and the fix. An expiry
    within 30 days or a missing intermediate is reported in ``warnings`` instead. When
    ``cert_path`` alone is not the full chain, the full chain is written next to it as
    ``<name>.qmha-chain.pem``.

    **Example:**

    .. code:: python

        tls = load_customer(
            Path("customer/qm.example.com.crt"),
            Path("customer/qm.example.com.key"),
            chain_path=Path("customer/intermediate.crt"),
        )
        for warning in tls.warnings:
            print(warning)
    """
    cert_path, key_path = Path(cert_path), Path(key_path)
    cert_file_certs = _load_certs(cert_path)
    leaf = cert_file_certs[0]
    private_key = _load_key(key_path)
    if _public_der(private_key) != _public_der(leaf):
        raise CertificateError(
            f"{key_path}: this private key does not belong to the certificate {cert_path}. "
            "Fix: use the key that was generated together with the certificate request."
        )

    now = datetime.now(timezone.utc)
    if now < leaf.not_valid_before_utc:
        raise CertificateError(
            f"{cert_path}: certificate is not valid before "
            f"{leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC. "
            "Fix: check this machine's clock, or wait until the certificate becomes valid."
        )
    if now > leaf.not_valid_after_utc:
        raise CertificateError(
            f"{cert_path}: certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}. "
            "Fix: renew it with the issuing CA and provide the new certificate."
        )
    warnings = []
    if leaf.not_valid_after_utc - now < RENEW_BEFORE:
        warnings.append(
            f"{cert_path}: certificate expires on {leaf.not_valid_after_utc:%Y-%m-%d}. "
            "Fix: renew it and deploy again before that date."
        )

    chain = list(cert_file_certs)
    for extra in (chain_path, ca_path):
        if extra is not None:
            chain += [cert for cert in _load_certs(Path(extra)) if cert not in chain]
    if leaf.issuer != leaf.subject and not any(c.subject == leaf.issuer for c in chain[1:]):
        warnings.append(
            f"{cert_path}: the issuing certificate ({leaf.issuer.rfc4514_string()}) is not "
            "provided, so some clients will reject the connection. "
            "Fix: provide the intermediate certificate as chain file."
        )

    if chain == cert_file_certs:
        full_chain = cert_path
    else:
        full_chain = cert_path.with_name(f"{cert_path.stem}.qmha-chain.pem")
        _write_if_changed(full_chain, b"".join(cert.public_bytes(PEM) for cert in chain), 0o644)
    return ClusterTLS(
        cert_path=cert_path,
        key_path=key_path,
        chain_path=full_chain,
        ca_path=Path(ca_path) if ca_path is not None else None,
        self_signed=False,
        not_after=leaf.not_valid_after_utc,
        warnings=tuple(warnings),
    )


def check_names(tls: ClusterTLS, names: list[str], addresses: list[str]) -> list[str]:
    """
    Return the names and addresses the server certificate does not cover.

    + tls: material from ``ensure_self_signed`` or ``load_customer``
    + names: DNS names clients use; ``*.example.com`` in the certificate covers exactly
      one extra label
    + addresses: IP addresses clients use; only IP entries of the certificate count

    The common name is used only when the certificate has no subjectAltName extension.

    **Example:**

    .. code:: python

        missing = check_names(tls, ["qm.example.com", "qm1.example.com"], ["10.0.0.11"])
        if missing:
            raise CertificateError(f"certificate does not cover: {', '.join(missing)}")
    """
    return _uncovered(_load_certs(tls.cert_path)[0], names, addresses)


def is_ecdsa(cert_path: Path) -> bool:
    """Whether the certificate at CERT_PATH (PEM, first certificate) has an elliptic-curve key."""
    return isinstance(_load_certs(Path(cert_path))[0].public_key(), ec.EllipticCurvePublicKey)


def pkcs12_bytes(tls: ClusterTLS, password: str) -> bytes:
    """
    Build a PKCS#12 keystore for Tomcat's HTTPS connector, with the entry alias ``tomcat``.

    + tls: material from ``ensure_self_signed`` or ``load_customer``
    + password: keystore password (``certificateKeystorePassword`` in ``server.xml``)

    The keystore holds the private key, the certificate and the rest of the chain,
    protected with AES-256 and PBKDF2-SHA256, which Java 8u301 and later read.

    **Example:**

    .. code:: python

        Path("keystore.p12").write_bytes(pkcs12_bytes(tls, passwords["keystore_password"]))
    """
    leaf = _load_certs(tls.cert_path)[0]
    others = [cert for cert in _load_certs(tls.chain_path) if cert != leaf]
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(password.encode())
    )
    return pkcs12.serialize_key_and_certificates(
        b"tomcat", _load_key(tls.key_path), leaf, others or None, encryption
    )


def keystore(tls: ClusterTLS, password: str, path: Path) -> bytes:
    """
    Tomcat's PKCS#12 keystore for TLS, kept at PATH (written atomically, owner-only) and built
    again only when the certificate or key changed.

    A new keystore differs byte for byte every time (random salts), so reusing it keeps re-runs
    from restarting Tomcat.

    **Example:**

    .. code:: python

        data = keystore(tls, secrets["tomcat_keystore_password"], control / "tls" / "tomcat.p12")
    """
    path = Path(path)
    want_cert = tls.cert_path.read_bytes()
    want_pub = _public_der(_load_key(tls.key_path))
    if path.exists():
        try:
            key, cert, _ = pkcs12.load_key_and_certificates(path.read_bytes(), password.encode())
            if cert is not None and cert.public_bytes(PEM) in want_cert and key is not None \
                    and _public_der(key) == want_pub:
                return path.read_bytes()
        except ValueError:
            pass
    data = pkcs12_bytes(tls, password)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomic(path, data, 0o600)
    return data


def truststore(tls: ClusterTLS, path: Path) -> bytes:
    """
    The cluster certificate alone as a Java PKCS#12 truststore (no password: it holds nothing
    secret), kept at PATH and built again only when the certificate changed (a new one differs
    byte for byte, so reusing it keeps re-runs from restarting Tomcat).

    MySQL Connector/J trusts it for the webapp's database connections: a server is accepted only
    when it presents this certificate.

    **Example:**

    .. code:: python

        data = truststore(tls, control / "tls" / "jdbc-trust.p12")
    """
    path = Path(path)
    leaf = _load_certs(tls.cert_path)[0]
    if path.exists():
        try:
            kept = pkcs12.load_pkcs12(path.read_bytes(), None)
            if [c.certificate for c in kept.additional_certs] == [leaf]:
                return path.read_bytes()
        except ValueError:
            pass
    data = pkcs12.serialize_java_truststore([pkcs12.PKCS12Certificate(leaf, b"qmha-cluster")],
                                           serialization.NoEncryption())
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomic(path, data, 0o644)
    return data


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CertificateError(f"{path}: {what} file not found. Fix: check the path.") from None
    except OSError as exc:
        raise CertificateError(
            f"{path}: cannot read {what} file ({exc.strerror}). "
            "Fix: point to a regular file readable by the user running the deploy."
        ) from None


def _load_certs(path: Path) -> list[x509.Certificate]:
    data = _read(path, "certificate")
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        raise CertificateError(
            f"{path}: not a PEM certificate. Fix: provide it in PEM format "
            f"(for DER: openssl x509 -inform der -in {path} -out {path}.pem)."
        ) from None


def _load_key(path: Path):
    """The private key in PATH (read and checked once per content: loading an RSA key checks it,
    tens of milliseconds each time)."""
    stat = Path(path).stat() if Path(path).exists() else None
    if stat is None:
        return _load_key_now(path)
    return _load_key_of(str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino)


@lru_cache(maxsize=16)
def _load_key_of(path: str, mtime_ns: int, size: int, inode: int):
    return _load_key_now(Path(path))


def _load_key_now(path: Path):
    data = _read(path, "private key")
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise CertificateError(
            f"{path}: private key is protected by a passphrase, which the servers cannot enter. "
            f"Fix: remove it with: openssl pkey -in {path} -out {path}.plain"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise CertificateError(
            f"{path}: not a PEM private key. Fix: provide the key in PEM format "
            "(starting with '-----BEGIN PRIVATE KEY-----' or similar)."
        ) from None


def _public_der(item) -> bytes:
    return item.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _reusable_pair(cert_path: Path, key_path: Path):
    """Return (certificate, key) if both exist, match and stay valid long enough."""
    if not (cert_path.exists() and key_path.exists()):
        return None, None
    cert, key = _load_certs(cert_path)[0], _load_key(key_path)
    expiring = cert.not_valid_after_utc - datetime.now(timezone.utc) < RENEW_BEFORE
    if expiring or _public_der(cert) != _public_der(key):
        return None, None
    return cert, key


def _uncovered(cert: x509.Certificate, names: list[str], addresses: list[str]) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        patterns = san.get_values_for_type(x509.DNSName)
        ips = san.get_values_for_type(x509.IPAddress)
    except x509.ExtensionNotFound:
        patterns = [attr.value for attr in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        ips = []
    missing = [name for name in names if not any(_dns_match(p, name) for p in patterns)]
    missing += [addr for addr in addresses if ipaddress.ip_address(addr) not in ips]
    return missing


def _dns_match(pattern: str, name: str) -> bool:
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern.startswith("*."):
        label, _, rest = name.partition(".")
        return bool(label) and rest == pattern[2:]
    return pattern == name


def _issue_ca(cluster_fqdn: str):
    key = _new_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"qm-ha CA {cluster_fqdn}")])
    not_before = datetime.now(timezone.utc) - CLOCK_SKEW
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _issue_server(ca_cert, ca_key, key, names: list[str], addresses: list[str]):
    not_before = datetime.now(timezone.utc) - CLOCK_SKEW
    san = [x509.DNSName(name) for name in names]
    san += [x509.IPAddress(ipaddress.ip_address(addr)) for addr in addresses]
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(min(not_before + SERVER_VALIDITY, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        # key_encipherment: RSA key transport, the only key exchange some older clients offer
        .add_extension(_key_usage(digital_signature=True, key_encipherment=True), critical=True)
        .add_extension(
            # MariaDB replication presents the same certificate as a client.
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


def _key_usage(**allowed: bool) -> x509.KeyUsage:
    usages = (
        "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
        "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only",
    )
    return x509.KeyUsage(**{usage: allowed.get(usage, False) for usage in usages})


def _write_pair(cert_path: Path, key_path: Path, cert: x509.Certificate, key) -> None:
    key_pem = key.private_bytes(
        PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_atomic(key_path, key_pem, 0o600)
    write_atomic(cert_path, cert.public_bytes(PEM), 0o644)


def _write_if_changed(path: Path, data: bytes, mode: int) -> None:
    if not path.exists() or path.read_bytes() != data:
        write_atomic(path, data, mode)
