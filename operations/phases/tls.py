"""TLS phase: put the cluster's CA, certificate and key on each node, readable by the services.

The same material serves nginx, Tomcat's peer connector and MariaDB replication. The key is
``0640 root:qmha-tls``; each tier adds its service user (mysql, tomcat) to group ``qmha-tls``.
Where the files land is ``paths.TLS``.

Example:

.. code:: python

    from operations.phases import tls
    tls_files = tls.configure(run)   # reload what uses them when they change
"""

from __future__ import annotations

from pyinfra.api import deploy


from .. import managed, paths
from ..context import Run

#: the group whose members (the service users) may read the key
GROUP = "qmha-tls"


@deploy("TLS material")
def configure(run: Run) -> list:
    """The material on the node; the file operations, so that the services using it reload when
    it changes (``database.configure(run, tls_files)``, ``web.configure(run, tls_files)``)."""
    material = run.tls
    managed.group(name=f"Group {GROUP} may read the key", group=GROUP, system=True)
    managed.directory(name=paths.TLS_DIR, path=paths.TLS_DIR, user="root", group=GROUP, mode="0750")
    sources = {"cert": material.cert_path, "chain": material.chain_path, "key": material.key_path,
               "ca": material.ca_path or material.chain_path}
    return [
        managed.put(
            name=f"{paths.TLS[role]}",
            src=str(src),
            dest=paths.TLS[role],
            user="root",
            group=GROUP,
            mode="0640" if role == "key" else "0644",
        )
        for role, src in sources.items()
    ]
