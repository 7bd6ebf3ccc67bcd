"""TLS phase: put the cluster's CA, certificate and key on each node, readable by the services.

The same material serves nginx, Tomcat's peer connector and MariaDB replication. The key is
``0640 root:qmha-tls``; each tier adds its service user (mysql, tomcat) to group ``qmha-tls``.

Example:

.. code:: python

    from operations import tls
    tls_files = tls.install()   # reload what uses them when they change
    tls.NODE_PATHS["key"]      # "/etc/qm-ha/tls/cluster.key"
"""

from __future__ import annotations

from pyinfra.api import deploy
from pyinfra.operations import files, server

from . import local

GROUP = "qmha-tls"
NODE_DIR = "/etc/qm-ha/tls"
NODE_PATHS = {
    "ca": f"{NODE_DIR}/ca.crt",
    "cert": f"{NODE_DIR}/cluster.crt",
    "chain": f"{NODE_DIR}/cluster-chain.crt",
    "key": f"{NODE_DIR}/cluster.key",
}


@deploy("TLS material")
def install() -> list:
    """The material on the node; the file operations, so that the services using it reload when
    it changes (``database.configure(tls_files)``, ``web.configure(tls_files)``)."""
    material = local.tls()
    server.group(name=f"Group {GROUP} may read the key", group=GROUP, system=True)
    files.directory(name=NODE_DIR, path=NODE_DIR, user="root", group=GROUP, mode="0750")
    sources = {"cert": material.cert_path, "chain": material.chain_path, "key": material.key_path,
               "ca": material.ca_path or material.chain_path}
    return [
        files.put(
            name=f"{NODE_PATHS[role]}",
            src=str(src),
            dest=NODE_PATHS[role],
            user="root",
            group=GROUP,
            mode="0640" if role == "key" else "0644",
        )
        for role, src in sources.items()
    ]
