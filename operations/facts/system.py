"""Facts of the node as a system: disk layout, container, clock, reachability, name resolution.

Read a node's state, change nothing. Shared by the deploy, the tests and the drill.

Example:

.. code:: python

    from operations.facts.system import RootFilesystem
    host.get_fact(RootFilesystem)
    # {"fstype": "ext4", "source": "/dev/vda1", "lvm": False, "other_mounts": [], "swaps": []}
"""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase, QuoteString, StringCommand


class UrlAnswers(FactBase):
    """Whether this node fetches URL (HTTP 2xx within 20 s): a mirror it is to install from.

    .. code:: python

        host.get_fact(UrlAnswers, url="https://vault.centos.org/7.9.2009/os/x86_64/repodata/repomd.xml")
    """

    def command(self, url: str) -> str:
        return f"curl -sfI --max-time 20 -o /dev/null {shlex.quote(url)} && echo yes || echo no"

    def process(self, output) -> bool | None:
        text = "".join(output).strip()
        return {"yes": True, "no": False}.get(text)


class CommandSucceeds(FactBase):
    """Whether COMMAND exits 0 on the node (None: no answer).

    .. code:: python

        host.get_fact(CommandSucceeds, command="timeout 120 yum -q makecache fast")
    """

    def command(self, command: str) -> str:
        return f"{command} >/dev/null 2>&1 && echo yes || echo no"

    def process(self, output) -> bool | None:
        return {"yes": True, "no": False}.get("".join(output).strip())


class AddressAnswers(FactBase):
    """Whether some host on this node's network answers for ADDRESS: after one connection attempt the
    neighbour table holds its link-layer address (no ping or arping needed; a firewall does not hide it).
    The node's cached entry for ADDRESS is dropped first: an address released moments ago (floating
    addresses switched off and on) leaves one that the attempt would reuse without asking anew.

    .. code:: python

        host.get_fact(AddressAnswers, address="192.168.1.21")  # False: the address is free
    """

    def command(self, address: str) -> str:
        return (f"ip neigh flush to {address} 2>/dev/null; timeout 2 bash -c '</dev/tcp/{address}/9' 2>/dev/null; "
                f"ip neigh show {address}")

    def process(self, output) -> bool:
        text = " ".join(output)
        return "lladdr" in text and "FAILED" not in text and "INCOMPLETE" not in text


class FreeMiB(FactBase):
    """MiB free at PATH, or at its nearest existing parent (a data directory the package has not made
    yet lives on its parent's filesystem); None when it cannot be told.

    .. code:: python

        host.get_fact(FreeMiB, path="/var/lib/mysql")  # 4213
    """

    def command(self, path: str) -> str:
        return (f"p={shlex.quote(path)}; while [ ! -e \"$p\" ] && [ \"$p\" != / ]; do p=$(dirname \"$p\"); done; "
                "df --output=avail -B1M \"$p\" | tail -n 1")

    def process(self, output) -> int | None:
        text = "".join(output).strip()
        return int(text) if text.isdigit() else None


class DirectoryMiB(FactBase):
    """MiB the files under PATH take (``du``), leaving out names matching the EXCLUDE patterns, or
    None when it cannot be told (no such folder).

    .. code:: python

        host.get_fact(DirectoryMiB, path="/var/lib/mysql", exclude=("mysql-bin.*",))  # 1130
    """

    def command(self, path: str, exclude: tuple[str, ...] = ()) -> str:
        skip = "".join(f" --exclude={shlex.quote(pattern)}" for pattern in exclude)
        return f"du -sm{skip} {shlex.quote(path)} 2>/dev/null | cut -f1"

    def process(self, output) -> int | None:
        text = "".join(output).strip()
        return int(text) if text.isdigit() else None


class RootFilesystem(FactBase):
    """The root filesystem, any other block-device mounts and swap devices (the seed's disk layout).

    .. code:: python

        {"fstype": "ext4", "source": "/dev/sda1", "lvm": False,
         "other_mounts": [{"target": "/boot", "source": "/dev/sda1", "fstype": "xfs"}],
         "swaps": ["/dev/sda2"]}
    """

    def command(self) -> str:
        return "findmnt -rn -o TARGET,SOURCE,FSTYPE; echo '-- swaps'; tail -n +2 /proc/swaps 2>/dev/null || true"

    @staticmethod
    def default() -> dict:
        return {"fstype": None, "source": None, "lvm": False, "other_mounts": [], "swaps": []}

    def process(self, output) -> dict:
        result = self.default()
        in_swaps = False
        for line in output:
            if line.strip() == "-- swaps":
                in_swaps = True
                continue
            parts = line.split()
            if in_swaps:
                if parts:
                    result["swaps"].append(parts[0])
                continue
            if len(parts) < 3:
                continue
            target, source, fstype = parts[0], parts[1], parts[2]
            if target == "/":
                result.update(fstype=fstype, source=source,
                              lvm=source.startswith("/dev/mapper/") or source.startswith("/dev/dm-"))
            elif source.startswith("/dev/") and "[" not in source and not source.startswith("/dev/loop"):
                # "/dev/sda1[/some/dir]" is a bind mount of a directory, not another partition
                result["other_mounts"].append({"target": target, "source": source, "fstype": fstype})
        return result


class ContainerType(FactBase):
    """``systemd-detect-virt --container``: ``"docker"``, ``"lxc"``... or None on a VM or metal."""

    def command(self) -> str:
        return "systemd-detect-virt --container 2>/dev/null || true"

    def process(self, output) -> str | None:
        value = "".join(output).strip()
        return None if value in ("", "none") else value


class EpochTime(FactBase):
    """The node's clock as seconds since the epoch, to the microsecond."""

    def command(self) -> str:
        return "date +%s.%N"

    def process(self, output) -> float | None:
        try:
            return float("".join(output).strip())
        except ValueError:
            return None


class TcpReachable(FactBase):
    """Whether this node opens a TCP connection to ADDRESS:PORT within 3 s.

    .. code:: python

        host.get_fact(TcpReachable, address="192.168.1.6", port=22)   # True
    """

    def command(self, address: str, port: int) -> StringCommand:
        return StringCommand(
            "timeout 3 bash -c", QuoteString(f"</dev/tcp/{address}/{int(port)}"),
            "2>/dev/null && echo open || echo closed",
        )

    def process(self, output) -> bool:
        return "".join(output).strip() == "open"


def split_sections(output, names: tuple[str, ...]) -> dict[str, list[str]]:
    """Lines of a fact's output grouped under the ``-- NAME`` markers its command prints."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in output:
        if line.startswith("-- ") and line[3:].strip() in names:
            current = line[3:].strip()
            sections[current] = []
        elif current:
            sections[current].append(line)
    return sections


class ResolvedAddresses(FactBase):
    """The IPv4 addresses HOSTNAME resolves to on the node (hosts file and DNS), sorted.

    .. code:: python

        host.get_fact(ResolvedAddresses, hostname="queuemetrics.mycompany.com")  # ["192.168.1.5", "192.168.1.6"]
    """

    def command(self, hostname: str) -> StringCommand:
        return StringCommand("getent ahostsv4", QuoteString(hostname), "2>/dev/null | awk '{print $1}' | sort -u || true")

    def process(self, output) -> list[str]:
        return sorted({line.strip() for line in output if line.strip()})


class SshClientAddress(FactBase):
    """The address this deploy's SSH connection comes from, as the node sees it (``SSH_CLIENT`` of
    the login, found up the process tree: sudo resets the environment); None when not found.

    .. code:: python

        host.get_fact(SshClientAddress)   # "203.0.113.7"
    """

    def command(self) -> str:
        return ("p=$$; for i in 1 2 3 4 5 6 7 8; do "
                "a=$(tr '\\0' '\\n' < /proc/$p/environ 2>/dev/null | sed -n 's/^SSH_CLIENT=\\([^ ]*\\) .*/\\1/p'); "
                "[ -n \"$a\" ] && { echo \"$a\"; exit 0; }; "
                "p=$(sed 's/.*) //' /proc/$p/stat 2>/dev/null | cut -d' ' -f2); [ -n \"$p\" ] && [ \"$p\" -gt 1 ] || break; done; true")

    def process(self, output) -> str | None:
        value = "\n".join(output).strip()
        return value or None


class LoginMethods(FactBase):
    """How USER can still log in over SSH: the key lines of its ``authorized_keys``, whether sshd
    accepts passwords (``sshd -T``) and whether USER has a usable password.

    .. code:: python

        host.get_fact(LoginMethods, user="qm")
        # {"keys": ["ssh-ed25519 AAAA... installer"], "password_login": False, "has_password": True}
    """

    def command(self, user: str) -> StringCommand:
        script = (
            'home=$(getent passwd "$1" | cut -d: -f6); echo "-- keys"; '
            'grep -E "^[^#]*(ssh-|ecdsa-|sk-)" "$home/.ssh/authorized_keys" 2>/dev/null; '
            'echo "-- sshd"; sshd -T 2>/dev/null | grep -i "^passwordauthentication"; '
            'echo "-- password"; passwd -S "$1" 2>/dev/null | cut -d" " -f2; true'
        )
        return StringCommand("sh", "-c", QuoteString(script), "login-methods", QuoteString(user))

    @staticmethod
    def default() -> dict:
        return {"keys": [], "password_login": False, "has_password": False}

    def process(self, output) -> dict:
        sections = split_sections(output, ("keys", "sshd", "password"))
        return {
            "keys": [line.strip() for line in sections.get("keys", []) if line.strip()],
            "password_login": any(line.split()[-1].lower() == "yes" for line in sections.get("sshd", []) if line.split()),
            # passwd -S: P (usable password), L (locked), NP (none); "PS" on EL
            "has_password": any(line.strip() in ("P", "PS") for line in sections.get("password", [])),
        }


class LocalUser(FactBase):
    """A local account: its home, shell and the groups it is in (primary first), or None.

    One account, where pyinfra's ``Users`` lists every account's groups (0.4 s on a small node).

    .. code:: python

        host.get_fact(LocalUser, user="qmha-sync")
        # {"home": "/var/lib/qm-ha/sync", "shell": "/bin/sh", "groups": ["qmha-sync", "tomcat"]}
    """

    def command(self, user: str) -> StringCommand:
        # no such account: no output, and no failure (a fact that fails fails its node)
        return StringCommand("(", "getent", "passwd", QuoteString(user), "&&", "id", "-nG", QuoteString(user), ")",
                             "||", "true")

    def process(self, output) -> dict | None:
        fields = output[0].split(":") if output else []
        if len(fields) < 7:
            return None
        return {"home": fields[5], "shell": fields[6], "groups": (output[1] if len(output) > 1 else "").split()}


class UnitState(FactBase):
    """Whether a systemd UNIT is active and enabled, read in one ``systemctl show`` (the states
    pyinfra's ``SystemdStatus`` and ``SystemdEnabled`` count as such).

    .. code:: python

        host.get_fact(UnitState, unit="nginx.service")     # {"active": True, "enabled": True}
    """

    ACTIVE = ("running", "waiting", "exited", "listening", "mounted")
    ENABLED = ("enabled", "static")

    def requires_command(self, unit: str) -> str:
        return "systemctl"

    def command(self, unit: str) -> StringCommand:
        return StringCommand("systemctl", "show", "--property", "SubState", "--property", "UnitFileState",
                             QuoteString(unit))

    @staticmethod
    def default() -> dict:
        return {"active": False, "enabled": False}

    def process(self, output) -> dict:
        values = dict(line.strip().partition("=")[::2] for line in output if "=" in line)
        return {"active": values.get("SubState") in self.ACTIVE, "enabled": values.get("UnitFileState") in self.ENABLED}


class InstalledPackages(FactBase):
    """Which of PACKAGES the node has installed, asked of its package database by name (``dpkg-query``
    or ``rpm -q``): a few lines where pyinfra's ``DebPackages``/``RpmPackages`` list every package.

    .. code:: python

        host.get_fact(InstalledPackages, manager="apt", packages=["nginx", "chrony"])   # ["nginx"]
    """

    def requires_command(self, manager: str, packages: list) -> str:
        return "dpkg-query" if manager == "apt" else "rpm"

    def command(self, manager: str, packages: list) -> str:
        names = " ".join(shlex.quote(p) for p in packages)
        if manager == "apt":  # the second letter of the status: "i" installed ("ii", "hi"; not "rc")
            return f"dpkg-query -W -f '${{db:Status-Abbrev}}|${{Package}}\\n' -- {names} 2>/dev/null || true"
        return f"rpm -q --qf '|%{{NAME}}\\n' -- {names} 2>/dev/null || true"

    @staticmethod
    def default() -> list:
        return []

    def process(self, output) -> list:
        installed = []
        for line in output:
            status, sep, name = line.partition("|")
            if sep and name and (status == "" or status[1:2] == "i"):
                installed.append(name.strip())
        return installed
