"""Floating addresses under the round-robin name (``qm_floating_addresses``): who holds which address.

Plain round-robin DNS moves a client to the other node only when the dead node refuses connections; a
frozen or powered-off node refuses nothing, and the client waits out its own timeout on every request
that picks it. With two floating addresses, one homed on each node, the cluster FQDN resolves to those
instead, and keepalived (unicast VRRP between the node addresses, no multicast) moves a node's address
to its peer when the node stops answering VRRP or its nginx cannot serve the app; the address comes
back when its home is healthy again. Both nodes keep serving (active-active): each holds its own
address while it is well.

Decisions only (pure): ``vrrp_instances`` for one node, the check's weight, the VRRP password.

Example:

.. code:: python

    from operations import floating
    floating.vrrp_instances(0, ("192.168.1.21", "192.168.1.22"), first_router_id=51)
    # [VrrpInstance(name='QMHA_A', address='192.168.1.21', router_id=51, priority=150, home=True),
    #  VrrpInstance(name='QMHA_B', address='192.168.1.22', router_id=52, priority=100, home=False)]
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

#: VRRP priorities: a node is the preferred holder of its own address and the backup of its peer's
HOME_PRIORITY = 150
BACKUP_PRIORITY = 100
#: what a failing web check takes off a node's priorities: its own address then goes to the peer
#: (150 - 60 = 90 < 100), and it cannot take the peer's while the peer is well
CHECK_WEIGHT = 60
#: the web check: every CHECK_INTERVAL_S, given CHECK_TIMEOUT_S; failed after CHECK_FALL failures in a
#: row, well again after CHECK_RISE successes in a row (an address does not flap on one slow answer)
CHECK_INTERVAL_S = 1
CHECK_TIMEOUT_S = 2
CHECK_FALL = 2
CHECK_RISE = 3
#: seconds between VRRP adverts: a silent holder is replaced after about three of them
ADVERT_S = 1
#: VRRPv2 simple authentication carries at most eight characters
VRRP_PASS_LEN = 8


@dataclass(frozen=True)
class VrrpInstance:
    name: str
    address: str
    router_id: int
    priority: int
    home: bool


def vrrp_instances(node_index: int, addresses: tuple[str, ...], first_router_id: int) -> list[VrrpInstance]:
    """One VRRP instance per floating address, in node order: node NODE_INDEX (0 for A) is the
    preferred holder of address NODE_INDEX and the backup of the other."""
    return [VrrpInstance(name=f"QMHA_{chr(ord('A') + i)}", address=address, router_id=first_router_id + i,
                         priority=HOME_PRIORITY if i == node_index else BACKUP_PRIORITY, home=i == node_index)
            for i, address in enumerate(addresses)]


def vrrp_password(secret: str) -> str:
    """The VRRP authentication string: eight characters derived from the cluster's SECRET (both nodes
    compute the same; the secret itself never goes into keepalived's configuration)."""
    return hashlib.sha256(("qmha-vrrp:" + secret).encode()).hexdigest()[:VRRP_PASS_LEN]


def cluster_addresses(node_addresses: list[str], floating: tuple[str, ...] | None) -> list[str]:
    """What the cluster FQDN must resolve to: the floating addresses when they are used, else the
    node addresses (plain round robin)."""
    return sorted(floating) if floating else sorted(node_addresses)
