"""Base phase: hostname, /etc/hosts for both node FQDNs, time sync (chrony), rsync, cron, sshd.

The seed says no internal DNS is needed: each node finds its peer by ``/etc/hosts``. In a
container (the lab), chronyd cannot set the clock; it runs without clock control instead.

Example:

.. code:: python

    from operations import base
    base.configure()
"""

from __future__ import annotations

from pathlib import Path

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files, server, systemd
from pyinfra.operations.util import any_changed

from . import cluster
from .facts import ContainerType
from .platform import Platform, install_packages, platform_of

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def current_platform() -> Platform:
    return platform_of(host)


def chrony_options(p: Platform, in_container: bool) -> str:
    """chronyd's options: the distribution's, plus -x (leave the clock alone) in a container."""
    return " ".join(filter(None, [p.chrony_default_options, "-x" if in_container else ""]))


@deploy("Hostname and /etc/hosts")
def names():
    c = cluster.current()
    server.hostname(name="Set the hostname", hostname=c.me.short_name)
    for node in c.nodes:
        server.etc_hosts(name=f"{node.fqdn} in /etc/hosts", ip=node.address, hostnames=[node.fqdn, node.short_name])


@deploy("Time sync (chrony)")
def time_sync():
    p = current_platform()
    in_container = host.get_fact(ContainerType) is not None
    unit = p.services["chrony"]
    options = files.template(
        name="chronyd options",
        src=str(TEMPLATES / "chrony/daemon-options.j2"),
        dest=p.chrony_options_file,
        var=p.chrony_options_var,
        options=chrony_options(p, in_container),
        create_remote_dir=False,  # /etc/default or /etc/sysconfig
    )
    changed = [options]
    if in_container:
        changed.append(files.template(
            name="chrony may start in a container",
            src=str(TEMPLATES / "systemd/chrony-in-container.conf.j2"),
            dest=f"/etc/systemd/system/{unit}.service.d/qmha-container.conf",
            create_remote_dir=True,
        ))
    servers = host.data.get("qm_ntp_servers")
    if servers is not None:
        changed.append(files.template(
            name="chrony time sources",
            src=str(TEMPLATES / "chrony/chrony.conf.j2"),
            dest=p.chrony_conf,
            ntp_servers=servers,
            drift_file=p.chrony_drift_file,
            create_remote_dir=False,  # the chrony package's
        ))
    systemd.service(name="Restart chrony after a change", service=unit, restarted=True,
                    daemon_reload=True, _if=any_changed(*changed))
    systemd.service(name="chrony enabled and running", service=unit, running=True, enabled=True)


@deploy("SSH login policy")
def ssh_policy():
    """Password login on or off as ``qm_ssh_password_login`` says (None leaves sshd as it is).

    The new setting is checked with ``sshd -t`` before sshd reloads, so a bad line never locks
    the operator out; key login (the deploy's own) is untouched.
    """
    wanted = host.data.get("qm_ssh_password_login")
    if wanted is None:
        return
    p = current_platform()
    value = "yes" if wanted else "no"
    if p.sshd_dropin_dir:
        change = files.template(name="sshd password login", src=str(TEMPLATES / "ssh/sshd-qmha.conf.j2"),
                                dest=f"{p.sshd_dropin_dir}/01-qmha.conf", password_login=value)
    else:
        change = files.line(name="sshd password login", path="/etc/ssh/sshd_config",
                            line=r"^#?\s*PasswordAuthentication\s.*", replace=f"PasswordAuthentication {value}")
    server.shell(name="sshd accepts the change, then reloads", _if=change.did_change,
                 commands=["sshd -t", f"systemctl reload {p.services['ssh']}"])


@deploy("Base system")
def configure():
    """Packages and services every node needs before the tiers."""
    p = current_platform()
    names()
    install_packages(p, p.base_packages, name="Base packages")
    time_sync()
    for role in ("ssh", "cron"):
        systemd.service(name=f"{p.services[role]} enabled and running", service=p.services[role],
                        running=True, enabled=True)
    ssh_policy()
