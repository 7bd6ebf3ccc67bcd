"""Sync phase: QueueMetrics' ``configuration.properties`` kept equal on both nodes, newest copy wins.

The seed: "The configuration.properties file is synchronized over ssh according to the newest."

How it works (the script is ``templates/sync/qmha-sync.sh.j2``): each node *pulls*. Every minute
(cron, the seed's design) and within seconds of a poke, a node asks its peer for the file's mtime and
checksum and copies the peer's file over its own only when the peer's is newer; when a node's own
copy changes, a systemd path unit pokes the peer so that it pulls at once. A node therefore only ever
writes its own file, as root; the peer's side of the connection is an unprivileged user (``qmsync``)
whose one authorised key is bound to the peer's address and to a command (``sync-serve``) that can
only stat, print and poke, and hand a rebuild's copy to the root script that receives it (``link``). Each node's key pair is made on the node; the private key never leaves it.
Host keys are pinned from the nodes' own host key files.

Example:

.. code:: python

    from operations.phases import sync
    sync.link(run)        # right after the base phase
    sync.configure(run)
"""

from __future__ import annotations

import shlex
from io import StringIO

from pyinfra import host, inventory
from pyinfra.api import FunctionCommand, StringCommand, deploy, operation
from pyinfra.facts.files import File, FileContents
from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from .. import cluster, managed, paths, rebuild
from ..context import Run
from ..elevated import as_inventory_says
from ..platform import install_packages
from ..render import config_file, render
from .app.tomcat import tomcat_for
from ..prefetch import node_fact

#: the unprivileged user the peer's sync logs in as
USER = "qmsync"
HOME = paths.SYNC_HOME
KEY = paths.SYNC_KEY
KNOWN_HOSTS = paths.SYNC_KNOWN_HOSTS
SCRIPT = paths.SYNC_SCRIPT
SERVE = paths.SYNC_SERVE


def properties_path(run: Run) -> str:
    """Where this node's QueueMetrics keeps configuration.properties (``qm_config_properties``
    when set, else under the webapp of the mode's Tomcat)."""
    if run.knobs.qm_config_properties:
        return run.knobs.qm_config_properties
    return paths.default_properties(tomcat_for(run.platform, run.knobs.qm_app_mode).webapps_dir)


def key_line(public_key: str) -> str:
    """``type base64`` of an OpenSSH public key line, without its comment."""
    return " ".join(public_key.split()[:2])


def authorized_line(peer: cluster.NodeSpec, public_key: str) -> str:
    """The peer's key, usable only from the peer's address and only for sync-serve."""
    return f'from="{peer.address}",command="{SERVE}",restrict {key_line(public_key)} qmha-sync@{peer.short_name}\n'


def known_hosts_line(peer: cluster.NodeSpec, host_key: str) -> str:
    where = peer.address if peer.ssh_port == 22 else f"[{peer.address}]:{peer.ssh_port}"
    return f"{where} {key_line(host_key)}\n"


@operation()
def key_pair(path: str, comment: str):
    """Generate an ed25519 key pair on the node at PATH unless one is there.

    .. code:: python

        key_pair(path="/etc/qm-ha/sync/id_ed25519", comment="qmha-sync@node-a")
    """
    if node_fact(host, File, path=path):
        host.noop(f"{path} exists")
        return
    yield StringCommand("ssh-keygen", "-q", "-t", "ed25519", "-N", "''", "-C", comment, "-f", path)


def _write_from_peer(state, host, peer_host, peer_path: str, dest: str, as_line) -> None:
    """At execution time: read PEER_PATH on the peer, write AS_LINE(contents) to DEST here."""
    ok, output = peer_host.run_shell_command(StringCommand("cat", peer_path), **as_inventory_says(state, peer_host))
    if not ok:
        raise RuntimeError(f"{peer_host.name}: cannot read {peer_path}")
    text = as_line("\n".join(output.stdout_lines))
    if not host.put_file(StringIO(text), dest, **as_inventory_says(state, host)):
        raise RuntimeError(f"{host.name}: cannot write {dest}")


@operation()
def from_peer_file(peer_name: str, peer_path: str, dest: str, as_line, mode: str = "644"):
    """Write DEST from a file on the peer, passed through AS_LINE (e.g. an authorized_keys line).

    The peer's file is read when the deploy prepares; when it does not exist yet (made earlier in
    this same run, e.g. the peer's new key pair), it is read when the operation executes.

    .. code:: python

        from_peer_file(peer_name="node-b", peer_path="/etc/ssh/ssh_host_ed25519_key.pub",
                       dest="/etc/qm-ha/sync/known_hosts", as_line=lambda k: f"192.168.1.6 {k}\\n")
    """
    peer_host = inventory.get_host(peer_name)
    contents = node_fact(peer_host, FileContents, path=peer_path)
    if contents:
        yield from managed.put._inner(src=StringIO(as_line("\n".join(contents))), dest=dest,
                                      user="root", group="root", mode=mode)
        return
    yield FunctionCommand(_write_from_peer, (peer_host, peer_path, dest, as_line), {})
    yield StringCommand("chown", "root:root", dest)
    yield StringCommand("chmod", mode, dest)


def _template(name: str, dest: str, mode: str = "644", **data):
    # every parent exists: system folders, or made earlier in this phase
    return config_file(f"sync/{name}.j2", dest, data, name=dest, user="root", group="root", mode=mode,
                       create_remote_dir=False)


@operation()
def sudo_rule(dest: str, text: str):
    """DEST in /etc/sudoers.d holding TEXT, checked with ``visudo -c`` before it is installed (a
    broken file there would break every sudo on the node); nothing when it already holds TEXT.

    .. code:: python

        sudo_rule(dest="/etc/sudoers.d/qmha-rebuild", text='qmsync ALL=(root) NOPASSWD: /usr/local/sbin/x ""\n')
    """
    if "\n".join(node_fact(host, FileContents, path=dest) or []) == text.rstrip("\n"):
        host.noop(f"{dest} is current")
        return
    staged = f"{paths.SYNC_CONF}/{dest.rsplit('/', 1)[-1]}.new"
    yield from files.put._inner(src=StringIO(text), dest=staged, user="root", group="root", mode="440")
    yield StringCommand(f"visudo -cqf {staged} && install -o root -g root -m 0440 {staged} {dest}; rc=$?; "
                        f"rm -f {staged}; exit $rc")


@deploy("Node-to-node SSH link")
def link(run: Run):
    """The unprivileged sync user, each node's key pair, the peer's key bound to the peer's address
    and to ``sync-serve``, the peer's host key pinned, and the rebuild's receiving end (root, through
    one sudo rule): what the configuration sync and a rebuild from the peer use. Run right after the
    base phase, so that the database phase can rebuild a node over it."""
    p, k = run.platform, run.knobs
    install_packages(p, p.sync_packages, name="ssh client, flock, logger, sudo")
    managed.user(name=f"Sync user {USER}", user=USER, home=HOME, shell="/bin/sh", system=True, ensure_home=False)
    managed.directory(name=HOME, path=HOME, user="root", group="root", mode="755")
    managed.directory(name=f"{HOME}/.ssh", path=f"{HOME}/.ssh", user="root", group="root", mode="755")
    managed.directory(name=paths.SYNC_CONF, path=paths.SYNC_CONF, user="root", group="root", mode="700")
    managed.directory(name=paths.SYNC_LIB, path=paths.SYNC_LIB, mode="755")
    key_pair(name="This node's sync key pair", path=KEY, comment=f"qmha-sync@{run.me.short_name}")

    peer = run.peer
    from_peer_file(name="The peer's sync key may run sync-serve, from the peer only", peer_name=peer.host_name,
                   peer_path=f"{KEY}.pub", dest=f"{HOME}/.ssh/authorized_keys",
                   as_line=lambda key: authorized_line(peer, key))
    from_peer_file(name="The peer's host key is pinned", peer_name=peer.host_name, peer_path=paths.SSH_HOST_KEY,
                   dest=KNOWN_HOSTS, as_line=lambda key: known_hosts_line(peer, key))

    q = shlex.quote
    _template("sync-serve.sh", SERVE, mode="755", properties=q(properties_path(run)), poke_file=q(paths.SYNC_POKE),
              receive=paths.REBUILD_RECEIVE)
    extract = p.db_physical_copy.extract if p.db_physical_copy else "false"
    _template("qmha-rebuild-receive.sh", paths.REBUILD_RECEIVE, mode="700", folder=q(paths.REBUILD_DIR),
              tag=rebuild.TAG, extract=extract)
    sudo_rule(name=f"{USER} may run the rebuild's receiving end as root", dest=paths.REBUILD_SUDOERS,
              text=render("sync/sudoers-rebuild.j2", user=USER, receive=paths.REBUILD_RECEIVE))


@deploy("configuration.properties sync")
def configure(run: Run):
    """The pull script, its cron line and path units (over the link made by ``link``)."""
    p, k = run.platform, run.knobs
    properties = properties_path(run)
    tomcat = tomcat_for(p, k.qm_app_mode)
    if tomcat.user != "root":  # the webapp's group, to read configuration.properties (made by the app phase)
        managed.user(name=f"{USER} reads the webapp's files", user=USER, home=HOME, shell="/bin/sh", system=True,
                    groups=[tomcat.user], append=True, ensure_home=False)
    managed.directory(name=paths.SYNC_BACKUPS, path=paths.SYNC_BACKUPS, user="root", group="root", mode="700")
    managed.file(name=paths.SYNC_POKE, path=paths.SYNC_POKE, user=USER, group=USER, mode="644")

    peer = run.peer
    q = shlex.quote
    _template("qmha-sync.sh", SCRIPT, mode="755", properties=q(properties), peer_address=q(peer.address),
              peer_port=peer.ssh_port, key=q(KEY), known_hosts=q(KNOWN_HOSTS), backup_dir=q(paths.SYNC_BACKUPS),
              keep_backups=k.qm_sync_keep_backups, max_skew_s=k.qm_sync_max_skew_s,
              min_keep_percent=k.qm_sync_min_keep_percent,
              sync_user=USER, file_owner=f"{tomcat.user}:{tomcat.user}", file_mode=paths.PROPERTIES_MODE)
    _template("qmha-sync.cron", "/etc/cron.d/qmha-sync", script=SCRIPT)
    units = [
        _template("qmha-sync.service", "/etc/systemd/system/qmha-sync.service", script=SCRIPT),
        _template("qmha-sync-pull.path", "/etc/systemd/system/qmha-sync-pull.path", poke_file=paths.SYNC_POKE),
        _template("qmha-sync-poke.service", "/etc/systemd/system/qmha-sync-poke.service", script=SCRIPT),
        _template("qmha-sync-poke.path", "/etc/systemd/system/qmha-sync-poke.path", properties=properties),
    ]
    systemd.daemon_reload(name="systemd reads the sync units", _if=any_changed(*units))
    for unit in ("qmha-sync-pull.path", "qmha-sync-poke.path"):
        managed.systemctl(name=f"{unit} enabled and watching", service=unit, command="restart",
                          _if=any_changed(*units))
        managed.service(name=f"{unit} running", service=unit, running=True, enabled=True)
