"""The two-node lab: a Docker network with fixed addresses, two systemd nodes, a DNS server, a client.

``up()`` reuses, restarts or recreates whatever it finds (the engine may have been stopped with the
containers still on disk), then writes ``state.json`` for the inventory and the tests. ``down()``
removes exactly the containers and the network it created, by name.

Names and addresses come from ``LabConfig``; the defaults give ``qmha-node-a`` (10.213.77.11),
``qmha-node-b`` (.12), ``qmha-dns`` (.2) and ``qmha-client`` (.100) on network ``qmha-lab``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from operations import paths
from operations.platform import PLATFORMS, Platform

from . import docker, image
from .docker import LabError

REPO = Path(__file__).resolve().parent.parent

# What a container needs to run systemd as PID 1 on this kind of host (no --privileged).
SYSTEMD_FLAGS = [
    "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs", "/run", "--tmpfs", "/run/lock",
    "--stop-signal", "SIGRTMIN+3", "-e", "container=docker",
]


@dataclass(frozen=True)
class Node:
    name: str
    address: str

    def fqdn(self, domain: str) -> str:
        return f"{self.name}.{domain}"


#: the lab's OS flavour (LAB_OS) -> the platform row its nodes get
LAB_PLATFORMS = {"debian12": "debian12", "debian13": "debian13", "centos7": "el7"}


@dataclass(frozen=True)
class LabConfig:
    """Everything that names or places the lab; each field has an environment override."""

    prefix: str = "qmha"
    subnet: str = "10.213.77.0/24"
    domain: str = "lab.test"
    cluster_name: str = "queuemetrics"
    lab_os: str = "debian12"
    state_dir: Path = REPO / ".lab"
    node_names: tuple[str, ...] = field(default=("node-a", "node-b"))
    #: LAB_FLOATING=1: the cluster FQDN on two floating addresses (keepalived); 0: plain round robin;
    #: unset (None): ``up`` makes it plain, the other commands keep what the lab has
    floating: bool | None = None
    #: LAB_DATA_DISK_SIZE: each node's data disk (``truncate`` sizes such as 4G); a smaller existing
    #: disk is grown, keeping its data (its node is stopped meanwhile)
    data_disk_size: str = "1G"

    @classmethod
    def from_env(cls, env=os.environ) -> "LabConfig":
        prefix = env.get("LAB_PREFIX", cls.prefix)
        default_state = REPO / (".lab" if prefix == cls.prefix else f".lab-{prefix}")
        return cls(
            prefix=prefix,
            subnet=env.get("LAB_SUBNET", cls.subnet),
            lab_os=env.get("LAB_OS", cls.lab_os),
            # absolute: docker takes a relative path in ``-v`` for a volume's name
            state_dir=Path(env.get("LAB_STATE_DIR", default_state)).resolve(),
            floating=None if env.get("LAB_FLOATING") is None else env["LAB_FLOATING"].strip().lower() in ("1", "yes", "true"),
            data_disk_size=env.get("LAB_DATA_DISK_SIZE", cls.data_disk_size),
        )

    @property
    def platform(self) -> Platform:
        """The platform row of the lab's nodes (``lab_os``), for the units and paths on them."""
        return PLATFORMS[LAB_PLATFORMS[self.lab_os]]

    def _host(self, index: int) -> str:
        return str(ipaddress.ip_network(self.subnet)[index])

    @property
    def network(self) -> str:
        return f"{self.prefix}-lab"

    @property
    def fqdn(self) -> str:
        return f"{self.cluster_name}.{self.domain}"

    @property
    def dns_address(self) -> str:
        return self._host(2)

    @property
    def client_address(self) -> str:
        return self._host(100)

    def floating_addresses(self, on: bool) -> list[str] | None:
        """The two floating addresses (node A's, node B's) when ON, else None."""
        return [self._host(21), self._host(22)] if on else None

    @property
    def nodes(self) -> list[Node]:
        return [Node(name, self._host(11 + i)) for i, name in enumerate(self.node_names)]

    def container(self, role: str) -> str:
        return f"{self.prefix}-{role}"

    @property
    def ssh_key(self) -> Path:
        return self.state_dir / "ssh" / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / "ssh" / "known_hosts"

    def licence_file(self, node_name: str) -> Path:
        """The lab's dummy QueueMetrics licence key for NODE_NAME."""
        return self.state_dir / "licences" / f"{node_name}.key"

    def data_disk(self, node_name: str) -> Path:
        """Where NODE_NAME's data filesystem is mounted on this machine (its node's ``DATA_DIR``)."""
        return self.state_dir / "disks" / node_name

    def data_disk_image(self, node_name: str) -> Path:
        return self.state_dir / "disks" / f"{node_name}.ext4"

    @property
    def owner_file(self) -> Path:
        return self.state_dir / "owner"

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def ca_cert(self) -> Path:
        """Where the deploy keeps the cluster CA on the control machine (``operations.paths``)."""
        return paths.control_ca(paths.control_dir(None, self.fqdn, create=False))


# ---------------------------------------------------------------- containers


def _spec_label(args: list[str]) -> str:
    return hashlib.sha256("\0".join(args).encode()).hexdigest()[:16]


def ensure_container(name: str, run_args: list[str]) -> str:
    """Make container NAME run with exactly RUN_ARGS: reuse it, start it, or recreate it.

    Returns what was done: "reused", "started" or "created".
    """
    spec = _spec_label(run_args)
    found = docker.inspect("container", name)
    if found is not None and found["Config"]["Labels"].get("qmha.spec") != spec:
        print(f"lab: {name} was made from another recipe; recreating it", flush=True)
        docker.run("rm", "-f", name)
        found = None
    if found is None:
        docker.run("run", "-d", "--name", name, "--label", f"qmha.spec={spec}", *run_args)
        return "created"
    if not found["State"]["Running"]:
        docker.run("start", name)
        return "started"
    return "reused"


def ensure_network(cfg: LabConfig) -> None:
    found = docker.inspect("network", cfg.network)
    if found is None:
        docker.run("network", "create", "--subnet", cfg.subnet, "--label", f"qmha.lab={cfg.prefix}", cfg.network)
        return
    subnets = [c.get("Subnet") for c in (found.get("IPAM") or {}).get("Config") or []]
    if cfg.subnet not in subnets:
        raise LabError(
            f"docker network {cfg.network} exists with subnet {subnets}, not {cfg.subnet}: "
            "run `make lab-down` and `make lab` again, or set LAB_SUBNET to match."
        )


def _common(cfg: LabConfig, ip: str) -> list[str]:
    return ["--network", cfg.network, "--ip", ip, "--label", f"qmha.lab={cfg.prefix}"]


def dns_args(cfg: LabConfig, tag: str, floating: bool = False) -> list[str]:
    """dnsmasq answering each node FQDN with its address and the cluster FQDN with both node addresses
    (round robin), or with both floating addresses when FLOATING."""
    records = [f"--host-record={n.fqdn(cfg.domain)},{n.address}" for n in cfg.nodes]
    cluster = cfg.floating_addresses(floating) or [n.address for n in cfg.nodes]
    records += [f"--host-record={cfg.fqdn},{address}" for address in cluster]
    return [
        *_common(cfg, cfg.dns_address), "--hostname", "dns", "--entrypoint", "dnsmasq", tag,
        "--keep-in-foreground", "--no-hosts", "--user=root", "--log-facility=-",
        f"--local=/{cfg.domain}/", "--domain-needed", "--cache-size=0", *records,
    ]


def node_args(cfg: LabConfig, node: Node, tag: str) -> list[str]:
    return [*_common(cfg, node.address), "--hostname", node.name, "--dns", cfg.dns_address, *SYSTEMD_FLAGS,
            "-v", f"{cfg.data_disk(node.name)}:{DATA_DIR}", tag]


# ---------------------------------------------------------------- data disks

#: where a node's MariaDB keeps its data: on a small filesystem of its own, as on a real server with a
#: data volume, so that the drill can fill it to the last byte without touching this machine's disk
DATA_DIR = PLATFORMS["debian12"].db_data_dir  # the same on every platform's package


def disk_bytes(size: str) -> int:
    """Bytes of a ``truncate`` size (1G, 512M, 4096K or a plain number); LabError when not one."""
    text = size.strip().upper().removesuffix("B").removesuffix("I")
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    try:
        return int(text[:-1]) * units[text[-1]] if text and text[-1] in units else int(text)
    except ValueError:
        raise LabError(f"LAB_DATA_DISK_SIZE={size!r} is not a size (such as 1G or 4G)") from None


def _host_command(*args: str) -> None:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise LabError(f"`{' '.join(args[:3])} ...` failed: {proc.stderr.strip()} (the lab runs as root and needs "
                       "loop devices for its nodes' data disks)")


def ensure_data_disk(cfg: LabConfig, node_name: str) -> Path:
    """NODE_NAME's data filesystem: a sparse ext4 image made once, loop-mounted when it is not."""
    mount, image_file = cfg.data_disk(node_name), cfg.data_disk_image(node_name)
    mount.mkdir(parents=True, exist_ok=True)
    if not image_file.exists():
        _host_command("truncate", "-s", cfg.data_disk_size, str(image_file))
        _host_command("mkfs.ext4", "-q", "-F", "-m", "0", str(image_file))  # no blocks kept for root: full is full
    elif image_file.stat().st_size < disk_bytes(cfg.data_disk_size):
        grow_data_disk(cfg, node_name)
    if not os.path.ismount(mount):
        _host_command("mount", "-o", "loop", str(image_file), str(mount))
        lost = mount / "lost+found"
        if lost.is_dir() and not any(lost.iterdir()):
            lost.rmdir()  # MariaDB would list it as a database
    return mount


def grow_data_disk(cfg: LabConfig, node_name: str) -> None:
    """Grow NODE_NAME's data disk to ``cfg.data_disk_size`` offline, keeping its data: the node is
    stopped (``up`` starts it again), the filesystem unmounted, checked and resized."""
    mount, image_file = cfg.data_disk(node_name), cfg.data_disk_image(node_name)
    print(f"lab: growing {node_name}'s data disk to {cfg.data_disk_size}", flush=True)
    if docker.inspect("container", cfg.container(node_name)) is not None:
        docker.run("stop", cfg.container(node_name), timeout=120)
    if os.path.ismount(mount):
        _host_command("umount", str(mount))
    _host_command("truncate", "-s", cfg.data_disk_size, str(image_file))
    subprocess.run(["e2fsck", "-f", "-y", str(image_file)], capture_output=True, timeout=300)
    _host_command("resize2fs", str(image_file))


def empty_data_disk(cfg: LabConfig, node_name: str) -> None:
    """A new node starts with an empty data disk."""
    for child in cfg.data_disk(node_name).iterdir():
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()


def remove_data_disk(cfg: LabConfig, node_name: str) -> None:
    mount, image_file = cfg.data_disk(node_name), cfg.data_disk_image(node_name)
    if os.path.ismount(mount):
        _host_command("umount", str(mount))
    image_file.unlink(missing_ok=True)


def client_args(cfg: LabConfig, tag: str) -> list[str]:
    return [*_common(cfg, cfg.client_address), "--hostname", "client", "--dns", cfg.dns_address,
            "--entrypoint", "sleep", tag, "infinity"]


# ---------------------------------------------------------------- ssh


def ensure_ssh_key(cfg: LabConfig) -> Path:
    """The lab's own key pair, made once (owner-only, git-ignored) and reused."""
    key = cfg.ssh_key
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        private = ed25519.Ed25519PrivateKey.generate()
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                    serialization.NoEncryption())
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        public = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                   serialization.PublicFormat.OpenSSH)
        key.with_suffix(".pub").write_bytes(public + b" qmha-lab\n")
    return key


OWNER_MARK = "/etc/qmha-lab-owner"


def lab_owner(cfg: LabConfig) -> str:
    """This checkout's lab identity, made once: nodes deployed from another checkout (whose secrets
    and CA this one does not have) are not reused."""
    if not cfg.owner_file.exists():
        cfg.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        cfg.owner_file.write_text(secrets.token_hex(16) + "\n")
    return cfg.owner_file.read_text().strip()


def ensure_node(cfg: LabConfig, node: Node, tag: str) -> str:
    """The node's container, recreated when another checkout's deploy owns it; what was done."""
    name, owner = cfg.container(node.name), lab_owner(cfg)
    ensure_data_disk(cfg, node.name)
    action = ensure_container(name, node_args(cfg, node, tag))
    found = docker.run("exec", name, "cat", OWNER_MARK, check=False).stdout.strip()
    if action != "created" and found != owner:
        print(f"lab: {name} was deployed from another checkout; recreating it", flush=True)
        docker.run("rm", "-f", "-v", name)
        action = ensure_container(name, node_args(cfg, node, tag))
    if action == "created":  # nothing on it uses the disk yet: MariaDB is not installed
        empty_data_disk(cfg, node.name)
    docker.run("exec", "-i", name, "sh", "-c", f"cat > {OWNER_MARK}", input=owner + "\n")
    return action


def prepare_node(cfg: LabConfig, name: str, wait_s: float = 120) -> str:
    """Wait for systemd, authorise the lab key, return the node's ed25519 host key line."""
    # a container just started may not have systemd's private socket yet: systemd 257 (Debian 13)
    # then fails at once ("Failed to connect to system scope bus") where 252 waited
    deadline = time.monotonic() + wait_s
    while True:
        left = max(1, int(deadline - time.monotonic()))
        proc = docker.run("exec", name, "timeout", str(left), "systemctl", "is-system-running", "--wait",
                          check=False, timeout=left + 30)
        if "Failed to connect to" not in proc.stderr or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    state = proc.stdout.strip()
    if state not in ("running", "degraded"):
        raise LabError(f"{name}: systemd did not finish booting ({state or proc.stderr.strip()}); "
                       f"see `docker exec {name} systemctl --failed`.")
    pub = cfg.ssh_key.with_suffix(".pub").read_text()
    docker.run("exec", "-i", name, "sh", "-c",
               "umask 077; mkdir -p /root/.ssh; cat > /root/.ssh/authorized_keys", input=pub)
    for _ in range(60):
        proc = docker.run("exec", name, "cat", "/etc/ssh/ssh_host_ed25519_key.pub", check=False)
        if proc.returncode == 0:
            return " ".join(proc.stdout.split()[:2])
        time.sleep(0.5)
    raise LabError(f"{name}: sshd host key never appeared; see `docker exec {name} journalctl -u ssh`.")


def wait_port(address: str, port: int, wait_s: float = 60) -> None:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise LabError(f"{address}:{port} did not accept connections within {wait_s:.0f} s.")


# ---------------------------------------------------------------- up / down


def state_dict(cfg: LabConfig, floating: bool = False) -> dict:
    return {
        "fqdn": cfg.fqdn,
        "domain": cfg.domain,
        "network": cfg.network,
        "subnet": cfg.subnet,
        "lab_os": cfg.lab_os,
        "ca_cert": str(cfg.ca_cert) if cfg.ca_cert.exists() else None,
        "dns_container": cfg.container("dns"),
        "dns_address": cfg.dns_address,
        "client_container": cfg.container("client"),
        "client_address": cfg.client_address,
        "floating_addresses": cfg.floating_addresses(floating),
        "ssh_key": str(cfg.ssh_key),
        "known_hosts": str(cfg.known_hosts),
        "nodes": [
            {"name": n.name, "fqdn": n.fqdn(cfg.domain), "address": n.address,
             "container": cfg.container(n.name), "ssh_host": n.address, "ssh_port": 22,
             "licence_file": str(cfg.licence_file(n.name))}
            for n in cfg.nodes
        ],
    }


def lab_is_floating(cfg: LabConfig) -> bool:
    """The mode the lab is in: LAB_FLOATING when set, else what its state file says."""
    if cfg.floating is not None:
        return cfg.floating
    try:
        return bool(json.loads(cfg.state_file.read_text()).get("floating_addresses"))
    except (OSError, ValueError):
        return False


def write_state(cfg: LabConfig, floating: bool | None = None) -> dict:
    state = state_dict(cfg, lab_is_floating(cfg) if floating is None else floating)
    cfg.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = cfg.state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(cfg.state_file)
    return state


def ensure_licences(cfg: LabConfig) -> None:
    """Dummy QueueMetrics licence keys for the lab's nodes (node A the main one, node B the hot
    backup), in files the lab inventory names, as a customer's would be."""
    for index, node in enumerate(cfg.nodes):
        path = cfg.licence_file(node.name)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.write_text(f"QMHA-LAB-{'MAIN' if index == 0 else 'HOTBACKUP'}-{secrets.token_hex(8).upper()}\n")
            path.chmod(0o600)


def up(cfg: LabConfig) -> dict:
    """Bring the lab to running, whatever state it is found in; return the state written."""
    docker.ensure_engine()
    ensure_licences(cfg)
    tag = image.ensure_image(cfg.lab_os)
    ensure_network(cfg)
    ensure_ssh_key(cfg)
    floating = bool(cfg.floating)  # without LAB_FLOATING, plain round robin
    actions = {cfg.container("dns"): ensure_container(cfg.container("dns"), dns_args(cfg, tag, floating))}
    for node in cfg.nodes:
        actions[cfg.container(node.name)] = ensure_node(cfg, node, tag)
    actions[cfg.container("client")] = ensure_container(cfg.container("client"), client_args(cfg, tag))
    known = []
    for node in cfg.nodes:
        hostkey = prepare_node(cfg, cfg.container(node.name))
        known.append(f"{node.address} {hostkey}")
        wait_port(node.address, 22)
    cfg.known_hosts.write_text("\n".join(known) + "\n")
    print("lab: " + ", ".join(f"{name} {what}" for name, what in actions.items())
          + (" (floating addresses " + ", ".join(cfg.floating_addresses(True)) + ")" if floating else ""), flush=True)
    return write_state(cfg, floating)


def replace(cfg: LabConfig, node_name: str) -> dict:
    """Node NODE_NAME made anew, as a reinstalled server: a new container (same name and address, a
    new host key, nothing installed) with an emptied data disk; the lab's pinned host key updated."""
    if node_name not in cfg.node_names:
        raise LabError(f"no node {node_name!r} in this lab (nodes: {', '.join(cfg.node_names)})")
    node = next(n for n in cfg.nodes if n.name == node_name)
    name = cfg.container(node_name)
    if docker.inspect("container", name) is not None:
        docker.run("rm", "-f", "-v", name, timeout=120)
    ensure_node(cfg, node, image.ensure_image(cfg.lab_os))  # created: its data disk is emptied
    hostkey = prepare_node(cfg, name)
    wait_port(node.address, 22)
    known = [line for line in cfg.known_hosts.read_text().splitlines() if line and line.split()[0] != node.address]
    cfg.known_hosts.write_text("\n".join([*known, f"{node.address} {hostkey}"]) + "\n")
    return write_state(cfg)


def down(cfg: LabConfig) -> list[str]:
    """Remove the lab's containers and network (by exact name); keep the image cache and the key."""
    removed = []
    names = [cfg.container("client"), *(cfg.container(n.name) for n in cfg.nodes), cfg.container("dns")]
    if not docker.engine_running():
        docker.ensure_engine()
    for name in names:
        if docker.inspect("container", name) is not None:
            docker.run("rm", "-f", "-v", name)
            removed.append(name)
    if docker.inspect("network", cfg.network) is not None:
        docker.run("network", "rm", cfg.network)
        removed.append(cfg.network)
    for node in cfg.nodes:
        remove_data_disk(cfg, node.name)
    if cfg.state_file.exists():
        cfg.state_file.unlink()
    return removed
