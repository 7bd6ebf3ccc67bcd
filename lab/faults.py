"""Faults the lab injects into its own nodes (the drill, the bench and the lab tests share them).

Example:

.. code:: python

    from lab import faults
    with faults.partition("qmha-node-a", "10.213.77.12"):
        ...  # node A drops every packet to and from node B
    faults.freeze("qmha-node-a"); ...; faults.thaw("qmha-node-a")          # every process stopped
    faults.power_cut("qmha-node-a"); ...; faults.power_on("qmha-node-a")   # gone at once, no RST
"""

from __future__ import annotations

import contextlib

from . import docker

#: the nftables table a partition lives in (its own: removing it removes the partition and nothing else)
PARTITION_TABLE = "qmha_lab_partition"


def _nft(container: str, *args: str, check: bool = True) -> None:
    docker.run("exec", container, "nft", *args, check=check, timeout=30)


def cut_link(container: str, peer_address: str) -> None:
    """CONTAINER drops every packet to and from PEER_ADDRESS (nothing is refused: a silent partition)."""
    restore_link(container)  # a partition left by an interrupted run
    _nft(container, "add", "table", "inet", PARTITION_TABLE)
    for chain, match in (("input", "saddr"), ("output", "daddr")):
        _nft(container, "add", "chain", "inet", PARTITION_TABLE, chain,
             f"{{ type filter hook {chain} priority -10; }}")
        _nft(container, "add", "rule", "inet", PARTITION_TABLE, chain, "ip", match, peer_address, "drop")


def restore_link(container: str) -> None:
    """Remove CONTAINER's partition, if it has one."""
    _nft(container, "delete", "table", "inet", PARTITION_TABLE, check=False)


@contextlib.contextmanager
def partition(container: str, peer_address: str):
    """CONTAINER partitioned from PEER_ADDRESS for the block, restored whatever happens."""
    cut_link(container, peer_address)
    try:
        yield
    finally:
        restore_link(container)


def freeze(container: str) -> None:
    """Every process of CONTAINER stopped at once; its kernel side still accepts TCP (a hung VM)."""
    docker.run("pause", container, timeout=60)


def thaw(container: str) -> None:
    docker.run("unpause", container, timeout=60)


def power_cut(container: str) -> None:
    """CONTAINER killed at once (no shutdown, no RST): its address stops answering anything."""
    docker.run("kill", container, timeout=60)


def power_on(container: str, boot_wait_s: int = 120) -> None:
    """CONTAINER started again, waiting (bounded) until its systemd has booted."""
    docker.run("start", container, timeout=60)
    docker.run("exec", container, "timeout", str(boot_wait_s), "systemctl", "is-system-running", "--wait",
               check=False, timeout=boot_wait_s + 30)


#: the files that fill a node's data disk (removing them frees it)
FILLER = "qmha-lab-filler"


def fill_disk(container: str, path: str) -> None:
    """The filesystem holding PATH in CONTAINER full to the last byte: most of it reserved at once
    (``fallocate``: nothing written), the last megabytes written until the disk refuses."""
    filler = f"{path}/{FILLER}"
    docker.run("exec", container, "sh", "-c",
               f"avail=$(df --output=avail -B1 {path} | tail -n 1); "
               f"fallocate -l $((avail > 16777216 ? avail - 8388608 : 0)) {filler} 2>/dev/null; "
               f"dd if=/dev/zero of={filler}.tail bs=64k 2>/dev/null; true", timeout=120)


def free_disk(container: str, path: str) -> None:
    docker.run("exec", container, "sh", "-c", f"rm -f {path}/{FILLER} {path}/{FILLER}.tail", timeout=60)
