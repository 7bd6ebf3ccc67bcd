"""pyinfra's file, unit, user and name operations, first checked against the facts read ahead.

Each operation here asks ``node_fact`` (``operations.prefetch``) whether the node already is as
wanted; when it is, it yields nothing and costs no SSH command. When anything differs, or the
fact was not read ahead, pyinfra's own operation runs (``_inner``) and reads its facts itself, so a
changed file, owner or mode is found and shown by ``--diff`` exactly as pyinfra shows it.

Example:

.. code:: python

    from operations import managed
    managed.directory(name="/etc/qm-ha", path="/etc/qm-ha", user="root", group="root", mode="0755")
"""

from __future__ import annotations

import hashlib
from typing import IO

from pyinfra import host
from pyinfra.api import StringCommand, operation
from pyinfra.facts.files import Directory, File, Link, Sha256File
from pyinfra.facts.server import EtcHosts, Groups, Hostname
from pyinfra.operations import files, server, systemd
from pyinfra.operations.util.files import ensure_mode_int

from .facts.system import LocalUser, UnitState
from .prefetch import node_fact

UNIT_SUFFIXES = (".service", ".socket", ".device", ".mount", ".automount", ".swap", ".target", ".path",
                 ".timer", ".slice", ".scope")


def owned_as(info: dict | None, user: str | None, group: str | None, mode) -> bool:
    """Whether INFO (a File, Directory or Link fact) exists with USER, GROUP and MODE (each None:
    not checked)."""
    if not info:
        return False
    return ((user is None or info.get("user") == user) and (group is None or info.get("group") == group)
            and (mode is None or info.get("mode") == ensure_mode_int(mode)))


def _sha256(src: str | IO) -> str:
    if isinstance(src, str):
        with open(src, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    data = src.read()
    src.seek(0)
    return hashlib.sha256(data if isinstance(data, bytes) else data.encode()).hexdigest()


def file_is(path: str, sha256: str, user=None, group=None, mode=None) -> bool:
    """Whether the file PATH holds content of SHA256 with USER, GROUP and MODE (read ahead)."""
    # both read whatever the first says: the next run then reads both ahead
    info, remote_sha256 = node_fact(host, File, path=path), node_fact(host, Sha256File, path=path)
    return owned_as(info, user, group, mode) and remote_sha256 == sha256


@operation()
def put(src: str | IO, dest: str, user: str | None = None, group: str | None = None, mode=None,
        create_remote_dir: bool = True):
    """``files.put``, costing nothing when DEST already holds SRC with USER, GROUP and MODE.

    .. code:: python

        managed.put(name="keystore", src=io.BytesIO(data), dest="/etc/qm-ha/tls/tomcat.p12",
                    user="root", group="qmha-tls", mode="0640", create_remote_dir=False)
    """
    if file_is(dest, _sha256(src), user, group, mode):
        return
    yield from files.put._inner(src=src, dest=dest, user=user, group=group, mode=mode,
                                create_remote_dir=create_remote_dir)


@operation()
def directory(path: str, user: str | None = None, group: str | None = None, mode=None):
    """``files.directory``, costing nothing when PATH is already a directory so owned.

    .. code:: python

        managed.directory(name="/etc/qm-ha", path="/etc/qm-ha", user="root", group="root", mode="0755")
    """
    if owned_as(node_fact(host, Directory, path=path), user, group, mode):
        return
    yield from files.directory._inner(path=path, user=user, group=group, mode=mode)


@operation()
def file(path: str, user: str | None = None, group: str | None = None, mode=None):
    """``files.file`` (present, not touched), costing nothing when PATH is already a file so owned.

    .. code:: python

        managed.file(name="poke", path="/var/lib/qm-ha/sync/poke", user="qmha-sync", group="qmha-sync", mode="644")
    """
    if owned_as(node_fact(host, File, path=path), user, group, mode):
        return
    yield from files.file._inner(path=path, user=user, group=group, mode=mode, touch=False)


@operation()
def link(path: str, target: str | None = None, present: bool = True):
    """``files.link`` (symbolic), costing nothing when PATH already points at TARGET (or, not
    PRESENT, when there is nothing at PATH).

    .. code:: python

        managed.link(name="JDBC driver", path="/usr/share/tomcat10/lib/mariadb-java-client.jar",
                     target="/usr/share/java/mariadb-java-client.jar")
    """
    info = node_fact(host, Link, path=path)
    if (info and info.get("link_target") == target) if present else info is None:
        return
    yield from files.link._inner(path=path, target=target, present=present)


def unit_name(service: str) -> str:
    """SERVICE as systemd names it (``nginx`` -> ``nginx.service``), as ``systemd.service`` does."""
    return service if service.endswith(UNIT_SUFFIXES) else f"{service}.service"


@operation()
def service(service: str, running: bool | None = None, enabled: bool | None = None):
    """``systemd.service`` for a wanted state, costing nothing when the unit already is so.

    .. code:: python

        managed.service(name="nginx enabled and running", service="nginx", running=True, enabled=True)
    """
    state = node_fact(host, UnitState, unit=unit_name(service))
    if (running is None or state["active"] == running) and (enabled is None or state["enabled"] == enabled):
        return
    yield from systemd.service._inner(service=service, running=running, enabled=enabled)


@operation(is_idempotent=False)
def systemctl(service: str, command: str, daemon_reload: bool = False):
    """``systemctl COMMAND SERVICE``, decided by systemd when it runs (after a daemon-reload when
    DAEMON_RELOAD); meant with ``_if``. ``try-restart`` restarts only a running unit (as
    ``systemd.service(restarted=True)``), ``restart`` also starts a stopped one, ``reload-or-restart``
    reloads a running unit or starts a stopped one, ``try-reload-or-restart`` touches only a running one.

    .. code:: python

        managed.systemctl(name="Restart chrony after a change", service="chrony", command="try-restart",
                          daemon_reload=True, _if=any_changed(*changed))
    """
    if daemon_reload:
        yield "systemctl daemon-reload"
    yield StringCommand("systemctl", command, unit_name(service))


@operation()
def user(user: str, home: str | None = None, shell: str | None = None, groups: list[str] | None = None,
         append: bool = False, system: bool = False, ensure_home: bool = True, create_home: bool = False):
    """``server.user``, costing nothing when USER already exists with HOME, SHELL and GROUPS
    (all of them, or among them with APPEND).

    .. code:: python

        managed.user(name="qmha-sync", user="qmha-sync", home="/var/lib/qm-ha/sync", shell="/bin/sh",
                     system=True, ensure_home=False)
    """
    known = node_fact(host, LocalUser, user=user)
    if known and (home is None or known.get("home") == home) and (shell is None or known.get("shell") == shell):
        have = set(known.get("groups") or [])
        want = set(groups or [])
        if (want <= have) if append else (groups is None or want == have):
            return
    yield from server.user._inner(user=user, home=home, shell=shell, groups=groups, append=append,
                                  system=system, ensure_home=ensure_home, create_home=create_home)


@operation()
def hostname(hostname: str):
    """``server.hostname``, costing nothing when the node already has HOSTNAME.

    .. code:: python

        managed.hostname(name="Set the hostname", hostname="qm-a")
    """
    if node_fact(host, Hostname) == hostname:
        return
    yield from server.hostname._inner(hostname=hostname)


@operation()
def etc_hosts(ip: str, hostnames: list[str]):
    """``server.etc_hosts``, costing nothing when ``/etc/hosts`` already names IP as HOSTNAMES.

    .. code:: python

        managed.etc_hosts(name="qm-a in /etc/hosts", ip="10.0.0.5", hostnames=["qm-a.example.com", "qm-a"])
    """
    if node_fact(host, EtcHosts, path="/etc/hosts").get(ip) == list(hostnames):
        return
    yield from server.etc_hosts._inner(ip=ip, hostnames=hostnames)


@operation()
def group(group: str, system: bool = False):
    """``server.group``, costing nothing when GROUP already exists.

    .. code:: python

        managed.group(name="Group qmha-tls", group="qmha-tls", system=True)
    """
    if group in node_fact(host, Groups):
        return
    yield from server.group._inner(group=group, system=system)
