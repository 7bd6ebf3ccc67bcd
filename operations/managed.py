"""pyinfra's file, unit, user and name operations, first checked against the facts read ahead.

Each operation here asks ``node_fact``/``node_facts`` (``operations.prefetch``) whether the node
already is as wanted; when it is, it yields nothing and costs no SSH command. When what is wanted is
simply missing (a fresh node: no such file, folder, account or running unit), the facts just read
decide the commands, joined into one where pyinfra would send several, and ``--diff`` shows a new
file as pyinfra shows it. When anything else differs, pyinfra's own operation runs (``_inner``) and
reads its facts itself, so a changed file, owner or mode is found and shown by ``--diff`` exactly
as pyinfra shows it.

Example:

.. code:: python

    from operations import managed
    managed.directory(name="/etc/qm-ha", path="/etc/qm-ha", user="root", group="root", mode="0755")
"""

from __future__ import annotations

import hashlib
import posixpath
from typing import IO

from pyinfra import host, logger, state
from pyinfra.api import FileUploadCommand, QuoteString, StringCommand, operation
from pyinfra.api.output import format_text
from pyinfra.facts.files import Directory, File, Link, Sha256File
from pyinfra.facts.server import EtcHosts, Groups, Hostname
from pyinfra.operations import files, server
from pyinfra.operations.util import files as file_utils
from pyinfra.operations.util.files import ensure_mode_int, generate_color_diff

from .facts.system import LocalUser, UnitState
from .prefetch import node_fact, node_facts

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


def joined(commands: list) -> StringCommand:
    """COMMANDS as one shell command, each run only when the one before succeeded (one SSH round
    trip instead of one each; a failure stops there, as pyinfra stops at a failed command).

    .. code:: python

        joined([StringCommand("mkdir", "-p", "/x"), file_utils.chmod("/x", "700")])
    """
    parts: list = []
    for command in commands:
        parts.extend(["&&", command] if parts else [command])
    return StringCommand(*parts)


def ownership(path: str, user, group, mode) -> list:
    """The commands that give PATH MODE, then USER and GROUP (those given), as pyinfra orders them."""
    return ([file_utils.chmod(path, ensure_mode_int(mode))] if mode else []) + \
        ([file_utils.chown(path, user, group)] if user or group else [])


def show_new_file(dest: str, src: str | IO) -> None:
    """Under ``--diff``, what pyinfra's ``files.put`` shows for a file it creates."""
    if not state.config.DIFF:
        return
    host.log(f"Will create {format_text(dest, bold=True)}", logger.info)
    try:
        if isinstance(src, str):
            with open(src) as f:
                desired = f.readlines()
        else:
            data = src.read()
            src.seek(0)
            desired = (data.decode() if isinstance(data, bytes) else data).splitlines(True)
        for line in generate_color_diff([], desired):
            logger.info("  %s", line)
    except UnicodeDecodeError:
        logger.info("Binary file uploaded")
    logger.info("")


@operation()
def put(src: str | IO, dest: str, user: str | None = None, group: str | None = None, mode=None,
        create_remote_dir: bool = True):
    """``files.put``, costing nothing when DEST already holds SRC with USER, GROUP and MODE; a missing
    DEST is uploaded and given its owner and mode in one command more (its folder made first when
    missing and CREATE_REMOTE_DIR, as pyinfra makes it).

    .. code:: python

        managed.put(name="keystore", src=io.BytesIO(data), dest="/etc/qm-ha/tls/tomcat.p12",
                    user="root", group="qmha-tls", mode="0640", create_remote_dir=False)
    """
    parent = posixpath.dirname(dest)
    wanted = [(File, {"path": dest}), (Sha256File, {"path": dest})]
    if create_remote_dir and parent:
        wanted.append((Directory, {"path": parent}))
    info, remote_sha256, *folder = node_facts(host, wanted)
    if owned_as(info, user, group, mode) and remote_sha256 == _sha256(src):
        return
    local = isinstance(src, str) and posixpath.isabs(src)
    if info is not None or (folder and folder[0] is False) or not (local or hasattr(src, "read")):
        yield from files.put._inner(src=src, dest=dest, user=user, group=group, mode=mode,
                                    create_remote_dir=create_remote_dir)
        return
    show_new_file(dest, src)
    if folder and folder[0] is None:
        yield joined([StringCommand("mkdir", "-p", QuoteString(parent))]
                     + ([file_utils.chown(parent, user, group)] if user or group else []))
    temp_dir = (host.current_op_global_arguments or {}).get("_temp_dir")
    yield FileUploadCommand(src, dest, remote_temp_filename=host.get_temp_filename(dest, temp_directory=temp_dir))
    # pyinfra's order: owner, then mode
    after = ([file_utils.chown(dest, user, group)] if user or group else []) + \
        ([file_utils.chmod(dest, ensure_mode_int(mode))] if mode else [])
    if after:
        yield joined(after)


@operation()
def directory(path: str, user: str | None = None, group: str | None = None, mode=None):
    """``files.directory``, costing nothing when PATH is already a directory so owned; a missing one
    is made with its mode and owner in one command.

    .. code:: python

        managed.directory(name="/etc/qm-ha", path="/etc/qm-ha", user="root", group="root", mode="0755")
    """
    info = node_fact(host, Directory, path=path)
    if owned_as(info, user, group, mode):
        return
    if info is None:
        yield joined([StringCommand("mkdir", "-p", QuoteString(path)), *ownership(path, user, group, mode)])
        return
    yield from files.directory._inner(path=path, user=user, group=group, mode=mode)


@operation()
def file(path: str, user: str | None = None, group: str | None = None, mode=None):
    """``files.file`` (present, not touched), costing nothing when PATH is already a file so owned; a
    missing one is made with its mode and owner in one command.

    .. code:: python

        managed.file(name="poke", path="/var/lib/qm-ha/sync/poke", user="qmha-sync", group="qmha-sync", mode="644")
    """
    info = node_fact(host, File, path=path)
    if owned_as(info, user, group, mode):
        return
    if info is None:
        yield joined([StringCommand("touch", QuoteString(path)), *ownership(path, user, group, mode)])
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
    unit = unit_name(service)
    now = node_fact(host, UnitState, unit=unit)
    # pyinfra's order: the running state first, then the enabled one
    commands = [StringCommand("systemctl", verb, QuoteString(unit)) for wanted, have, verb in (
        (running, now["active"], "start" if running else "stop"),
        (enabled, now["enabled"], "enable" if enabled else "disable")) if wanted is not None and wanted != have]
    if commands:
        yield joined(commands)


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


def _names(groups) -> StringCommand:
    return StringCommand(*[QuoteString(g) for g in groups], _separator=",")


def account_commands(user: str, known: dict | None, existing_groups, home, shell, groups, append: bool,
                     system: bool, create_home: bool) -> list | None:
    """The one ``useradd``/``usermod`` that makes USER as wanted, from KNOWN (its ``LocalUser`` fact)
    and EXISTING_GROUPS, with pyinfra's ``server.user`` arguments; ``[]`` when it already is;
    None when it takes more than that (pyinfra's operation then decides).

    .. code:: python

        account_commands("qmha-sync", None, ["root"], "/var/lib/qm-ha/sync", "/bin/sh", [], False, True, False)
        # [useradd -d /var/lib/qm-ha/sync -s /bin/sh -r -M qmha-sync]
    """
    groups = list(groups or [])
    if known is None:
        args: list = []
        if home:
            args += ["-d", QuoteString(home)]
        if shell:
            args += ["-s", QuoteString(shell)]
        if user in existing_groups:  # a group of that name already: useradd would fail making it
            args += ["-g", QuoteString(user)]
        if groups:
            args += ["-G", _names(groups)]
        if system:
            args.append("-r")
        args.append("-m" if create_home else "-M")
        return [StringCommand("useradd", *args, QuoteString(user))]
    if not isinstance(known, dict) or "home" not in known:
        return None
    args = []
    if home and known.get("home") != home:
        args += ["-d", QuoteString(home)]
    if shell and known.get("shell") != shell:
        args += ["-s", QuoteString(shell)]
    have = set(known.get("groups") or [])
    if groups and (not set(groups) <= have if append else set(groups) != have):
        args += (["-a"] if append else []) + ["-G", _names(groups)]
    return [StringCommand("usermod", *args, QuoteString(user))] if args else []


@operation()
def user(user: str, home: str | None = None, shell: str | None = None, groups: list[str] | None = None,
         append: bool = False, system: bool = False, ensure_home: bool = True, create_home: bool = False):
    """``server.user``, costing nothing when USER already exists with HOME, SHELL and GROUPS
    (all of them, or among them with APPEND); a missing account, or one missing a group, is made
    so in one command (``account_commands``).

    .. code:: python

        managed.user(name="qmha-sync", user="qmha-sync", home="/var/lib/qm-ha/sync", shell="/bin/sh",
                     system=True, ensure_home=False)
    """
    known, existing_groups = node_facts(host, [(LocalUser, {"user": user}), (Groups, {})])
    commands = account_commands(user, known, existing_groups or [], home, shell, groups, append, system,
                                create_home)
    if commands == []:
        return
    if commands is None or ensure_home:
        yield from server.user._inner(user=user, home=home, shell=shell, groups=groups, append=append,
                                      system=system, ensure_home=ensure_home, create_home=create_home)
        return
    yield from commands


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
