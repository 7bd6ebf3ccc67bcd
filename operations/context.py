"""The run context: what every phase needs, built once per host per deploy run and handed on.

``current()`` gives the ``Run`` for the host pyinfra is preparing: the cluster with this node and
its peer, the platform row, the knobs, and (read on first use, once per run) the secrets and the
TLS material on the control machine. Phases take it as their argument (``phase.configure(run)``)
instead of reading the inventory, the OS or the secrets file themselves.

Everything here is made once per deploy run with ``memo.per_run``, the one memo of the project.

Example:

.. code:: python

    from operations import context

    run = context.current()
    run.me.fqdn, run.peer.address, run.platform.db_service, run.knobs.qm_db_name
    run.secrets["db_app_password"], run.tls.chain_path
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyinfra import host as current_host
from pyinfra import inventory as current_inventory

from . import certificates, knobs as knobs_mod, paths, secret_store
from .cluster import Cluster, NodeSpec, from_inventory
from .memo import per_run
from .platform import Platform, UnsupportedPlatform, platform_of

__all__ = ["Run", "current", "for_host", "knobs_of", "per_run"]

#: every secret the deploy uses, made together so the file is written once
SECRET_NAMES = ("db_root_password", "db_app_password", "db_replication_password", "db_seed_password",
                "tomcat_keystore_password", "vrrp_password")


@dataclass(frozen=True)
class Run:
    """One host's view of this deploy run."""

    cluster: Cluster
    me: NodeSpec
    knobs: knobs_mod.Knobs
    #: None when the node's OS is not supported (preflight refuses it before any phase runs)
    platform: Platform | None

    @property
    def peer(self) -> NodeSpec:
        return self.cluster.peer

    @property
    def index(self) -> int:
        """0 for node A, 1 for node B (the inventory's order)."""
        return self.cluster.nodes.index(self.me)

    @property
    def control_dir(self) -> Path:
        return paths.control_dir(self.knobs.qm_local_state_dir, self.cluster.fqdn)

    @property
    def secrets(self) -> dict[str, str]:
        """The cluster's secrets: ``QMHA_<NAME>`` from the environment, else the owner-only file."""
        return per_run("secrets", lambda: secret_store.load_or_create(
            paths.control_secrets(self.control_dir), list(SECRET_NAMES)))

    @property
    def tls(self) -> certificates.ClusterTLS:
        """The customer's certificate when the knobs name one, else the cluster's own CA and
        certificate (made once); raises ``CertificateError`` (preflight reports it)."""
        return per_run("tls", lambda: tls_material(self.cluster, self.knobs, self.control_dir))


def tls_material(cluster: Cluster, k: knobs_mod.Knobs, control: Path) -> certificates.ClusterTLS:
    if k.qm_tls_cert:
        return certificates.load_customer(
            Path(k.qm_tls_cert), Path(k.qm_tls_key or ""),
            chain_path=Path(k.qm_tls_chain) if k.qm_tls_chain else None,
            ca_path=Path(k.qm_tls_ca) if k.qm_tls_ca else None,
        )
    nodes = [{"name": n.short_name, "fqdn": n.fqdn, "address": n.address} for n in cluster.nodes]
    return certificates.ensure_self_signed(paths.control_tls(control), cluster.fqdn, nodes)


def knobs_of(h) -> knobs_mod.Knobs:
    """Host H's knobs, read once per run."""
    return per_run(("knobs", h.name), lambda: knobs_mod.read(h.name, h.data))


def cluster() -> Cluster:
    """The inventory's cluster (raises ``InventoryError``), checked once per run."""
    return per_run("cluster", lambda: from_inventory(current_inventory))


def for_host(h) -> Run:
    """Host H's Run (once per run)."""
    def make() -> Run:
        c = cluster()
        try:
            platform = platform_of(h)
        except UnsupportedPlatform:
            platform = None
        me = c.node_for(h.name)
        return Run(cluster=Cluster(fqdn=c.fqdn, nodes=c.nodes, me=me), me=me, knobs=knobs_of(h), platform=platform)
    return per_run(("run", h.name), make)


def current() -> Run:
    """The Run of the host pyinfra is preparing now."""
    return for_host(current_host)
