"""The lab's node image: a Debian root filesystem (12 bookworm, or 13 trixie with ``LAB_OS=debian13``)
made with debootstrap, then ``docker import``ed.

No image is ever pulled. The image is tagged with a hash of this recipe (this file), so it is
rebuilt only when the recipe changes. The same image serves the nodes (systemd as PID 1, sshd),
the DNS server (dnsmasq) and the client (curl).

A CentOS 7 variant (``LAB_OS=centos7``) is built from a local ``centos:7`` image when the
machine has one; it cannot be downloaded here.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from . import docker
from .docker import LabError

#: LAB_OS -> the Debian suite its nodes are debootstrapped from (the same mirror for each)
SUITES = {"debian12": "bookworm", "debian13": "trixie"}
PACKAGES = [
    "systemd", "systemd-sysv", "dbus", "openssh-server", "python3", "iproute2",
    "dnsmasq-base", "curl", "ca-certificates", "procps", "netcat-openbsd",
    # a customer without root SSH gives a 'qm' sudo user (tests/lab/test_sudo_lab.py)
    "sudo",
]
DEFAULT_MIRROR = "http://deb.debian.org/debian"

# Regenerates sshd host keys on a container's first boot, so two nodes never share them.
HOSTKEYS_UNIT = """\
[Unit]
Description=Generate this node's SSH host keys
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
"""

# Units that have nothing to do in a container and only slow the boot or fail.
MASKED_UNITS = [
    "getty@tty1.service", "console-getty.service", "systemd-udevd.service",
    "systemd-modules-load.service", "sys-kernel-config.mount", "sys-kernel-debug.mount",
    "systemd-remount-fs.service", "apt-daily.timer", "apt-daily-upgrade.timer",
]

CENTOS7_DOCKERFILE = """\
FROM centos:7
RUN sed -i -e 's/^mirrorlist/#mirrorlist/' -e 's|^#baseurl=http://mirror.centos.org|baseurl=http://vault.centos.org|' /etc/yum.repos.d/CentOS-*.repo \\
 && yum -y install openssh-server python3 iproute initscripts curl && yum clean all \\
 && rm -f /etc/ssh/ssh_host_* && systemctl enable sshd
CMD ["/usr/sbin/init"]
"""


def recipe_hash() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def image_tag(lab_os: str) -> str:
    """The node image's tag: the flavour, its suite when it is a Debian one, the recipe's hash.

    .. code:: python

        image_tag("debian13")   # "qmha-node:debian13-trixie-<hash>"
    """
    suite = f"-{SUITES[lab_os]}" if lab_os in SUITES else ""
    return f"qmha-node:{lab_os}{suite}-{recipe_hash()}"


def host_mirror() -> str:
    """The Debian mirror this machine's own apt sources use (``LAB_MIRROR`` overrides)."""
    if os.environ.get("LAB_MIRROR"):
        return os.environ["LAB_MIRROR"]
    texts = []
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        if path.is_file() and path.suffix in ("", ".list", ".sources"):
            texts.append(path.read_text(errors="replace"))
    for text in texts:
        for m in re.finditer(r"^(?:deb\s+(?:\[[^]]*\]\s+)?|URIs:\s*)(\S+)", text, re.M):
            uri = m.group(1)
            if re.search(r"/debian/?$", uri):
                return uri.rstrip("/")
    return DEFAULT_MIRROR


def ensure_image(lab_os: str = "debian12") -> str:
    """Return the tag of the node image for ``lab_os``, building it first when missing."""
    tag = image_tag(lab_os)
    if docker.inspect("image", tag) is not None:
        return tag
    if lab_os in SUITES:
        _build_debian(tag, SUITES[lab_os])
    elif lab_os == "centos7":
        _build_centos7(tag)
    else:
        flavours = ", ".join([*SUITES, "centos7"])
        raise LabError(f"LAB_OS={lab_os} is not a lab flavour: use one of {flavours} (debian12 by default).")
    return tag


def _build_debian(tag: str, suite: str) -> None:
    if not shutil.which("debootstrap"):
        raise LabError("debootstrap is not installed: run `apt-get install debootstrap` (make lab does).")
    mirror = host_mirror()
    with tempfile.TemporaryDirectory(prefix="qmha-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        print(f"lab: building node image {tag} ({suite}) with debootstrap from {mirror} (about a minute)", flush=True)
        proc = subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", suite, str(rootfs), mirror],
            capture_output=True, text=True, timeout=1200,
        )
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
            raise LabError(f"debootstrap failed (mirror {mirror}; set LAB_MIRROR to another):\n{tail}")
        _customise(rootfs, mirror, suite)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        imp = subprocess.run(
            [docker.docker_binary(), "import", "-c", 'CMD ["/sbin/init"]',
             "-c", f"LABEL qmha.recipe={recipe_hash()}", "-", tag],
            stdin=tar.stdout, capture_output=True, text=True, timeout=600,
        )
        tar.wait()
        if imp.returncode != 0:
            raise LabError(f"docker import failed: {imp.stderr.strip()}")


def _customise(rootfs: Path, mirror: str, suite: str) -> None:
    """Make the debootstrapped tree a container image: keys per node, no useless units, small."""
    (rootfs / "etc/apt/sources.list").write_text(
        f"deb {mirror} {suite} main\ndeb {mirror} {suite}-updates main\n"
    )
    for key in (rootfs / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    unit = rootfs / "etc/systemd/system/qmha-hostkeys.service"
    unit.write_text(HOSTKEYS_UNIT)
    wants = rootfs / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    (wants / "qmha-hostkeys.service").symlink_to("/etc/systemd/system/qmha-hostkeys.service")
    for name in MASKED_UNITS:
        link = rootfs / "etc/systemd/system" / name
        if not link.exists() and not link.is_symlink():
            link.symlink_to("/dev/null")
    (rootfs / "etc/machine-id").write_text("")
    dbus_id = rootfs / "var/lib/dbus/machine-id"
    if dbus_id.exists() or dbus_id.is_symlink():
        dbus_id.unlink()
    for deb in (rootfs / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()
    for lists in (rootfs / "var/lib/apt/lists").glob("*_*"):
        lists.unlink()


def _build_centos7(tag: str) -> None:
    if docker.inspect("image", "centos:7") is None:
        raise LabError(
            "LAB_OS=centos7 needs a local `centos:7` image, and this machine has none (no image can be "
            "pulled here). Load one with `docker load -i centos7.tar`, or use the default Debian lab."
        )
    with tempfile.TemporaryDirectory(prefix="qmha-centos7-") as tmp:
        (Path(tmp) / "Dockerfile").write_text(CENTOS7_DOCKERFILE)
        docker.run("build", "--pull=false", "-t", tag, "--label", f"qmha.recipe={recipe_hash()}", tmp,
                   timeout=1800)
