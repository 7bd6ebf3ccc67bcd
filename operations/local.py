"""What the deploy keeps on the control machine: generated secrets and TLS material.

Both live in ``qm_local_state_dir`` (default ``.qmha/<cluster fqdn>/`` in the project, git-ignored,
owner-only) and are made once, then reused by every later run, so a re-run never rotates a
password or a certificate behind the cluster's back.

Example:

.. code:: python

    from operations import local
    local.secrets(["db_app_password"])["db_app_password"]
    local.tls().chain_path
"""

from __future__ import annotations

from pathlib import Path

from pyinfra import host, inventory

from . import certificates
from . import secrets as secrets_mod
from .cluster import from_inventory

PROJECT = Path(__file__).resolve().parent.parent

#: every secret the deploy uses, made together so the file is written once
SECRET_NAMES = ["db_root_password", "db_app_password", "db_replication_password", "tomcat_keystore_password"]


def state_dir(data=None) -> Path:
    """The cluster's owner-only folder on the control machine (created on first use)."""
    data = data or host.data
    configured = data.get("qm_local_state_dir")
    path = Path(configured).expanduser().resolve() if configured else PROJECT / ".qmha" / str(data.get("qm_cluster_fqdn"))
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def secrets(names: list[str] | None = None) -> dict[str, str]:
    """The cluster's secrets (environment ``QMHA_<NAME>`` first, then the owner-only file)."""
    values = secrets_mod.load_or_create(state_dir() / "secrets.json", SECRET_NAMES)
    return {name: values[name] for name in (names or SECRET_NAMES)}


def tls() -> certificates.ClusterTLS:
    """The customer's certificate when the inventory names one, else the cluster's own CA and certificate."""
    data = host.data
    if data.get("qm_tls_cert"):
        return certificates.load_customer(
            Path(data.qm_tls_cert), Path(data.get("qm_tls_key") or ""),
            chain_path=Path(data.qm_tls_chain) if data.get("qm_tls_chain") else None,
            ca_path=Path(data.qm_tls_ca) if data.get("qm_tls_ca") else None,
        )
    cluster = from_inventory(inventory)
    nodes = [{"name": n.short_name, "fqdn": n.fqdn, "address": n.address} for n in cluster.nodes]
    return certificates.ensure_self_signed(state_dir() / "tls", cluster.fqdn, nodes)
