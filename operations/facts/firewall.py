"""Facts of the node's firewall.

Example:

.. code:: python

    from operations.facts.firewall import FirewalldDefaultZone
    host.get_fact(FirewalldDefaultZone)     # "qmha"
"""

from __future__ import annotations

from pyinfra.api import FactBase

class FirewalldDefaultZone(FactBase):
    """firewalld's default zone (``public`` on a fresh CentOS 7), or None when firewalld is not running.

    .. code:: python

        "qmha"
    """

    def command(self) -> str:
        return "firewall-cmd --get-default-zone 2>/dev/null || true"

    def process(self, output) -> str | None:
        value = "\n".join(output).strip()
        return value or None
