"""Base phase: hostname, /etc/hosts for both node FQDNs, time sync (chrony), rsync, cron, sshd.

The seed says no internal DNS is needed: each node finds its peer by ``/etc/hosts``. In a
container (the lab), chronyd cannot set the clock; it runs without clock control instead.

It also makes the project's own folders on the node (``paths.ETC``, ``paths.STATE``), so every
later phase finds them.

Example:

.. code:: python

    from operations.phases import base
    base.configure(run)
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files, server
from pyinfra.operations.util import any_changed

from .. import managed, paths
from ..context import Run
from ..facts.selinux import SELinuxMode
from ..facts.system import ContainerType
from ..managed import unit_name
from ..platform import PackageSource, Platform, Tomcat, install_packages
from ..render import config_file
from ..prefetch import node_fact
from .app.tomcat import tomcat_for
from .floating import PACKAGE as KEEPALIVED


def chrony_options(p: Platform, in_container: bool) -> str:
    """chronyd's options: the distribution's, plus -x (leave the clock alone) in a container."""
    return " ".join(filter(None, [p.chrony_default_options, "-x" if in_container else ""]))


@deploy("Hostname and /etc/hosts")
def names(run: Run):
    managed.hostname(name="Set the hostname", hostname=run.me.short_name)
    for node in run.cluster.nodes:
        managed.etc_hosts(name=f"{node.fqdn} in /etc/hosts", ip=node.address, hostnames=[node.fqdn, node.short_name])


@deploy("Time sync (chrony)")
def time_sync(run: Run):
    p = run.platform
    in_container = node_fact(host, ContainerType) is not None
    unit = p.services["chrony"]
    options = config_file(
        "chrony/daemon-options.j2", p.chrony_options_file,
        {"var": p.chrony_options_var, "options": chrony_options(p, in_container)},
        name="chronyd options",
        create_remote_dir=False,  # /etc/default or /etc/sysconfig
    )
    changed = [options]
    if in_container:
        changed.append(config_file(
            "systemd/chrony-in-container.conf.j2", f"/etc/systemd/system/{unit}.service.d/qmha-container.conf",
            name="chrony may start in a container",
            create_remote_dir=True,
        ))
    servers = run.knobs.qm_ntp_servers
    if servers is not None:
        changed.append(config_file(
            "chrony/chrony.conf.j2", p.chrony_conf,
            {"ntp_servers": list(servers), "drift_file": p.chrony_drift_file},
            name="chrony time sources",
            create_remote_dir=False,  # the chrony package's
        ))
    managed.systemctl(name="Restart chrony after a change", service=unit, command="try-restart",
                      daemon_reload=True, _if=any_changed(*changed))
    managed.service(name="chrony enabled and running", service=unit, running=True, enabled=True)


@deploy("SSH login policy")
def ssh_policy(run: Run):
    """Password login on or off as ``qm_ssh_password_login`` says (None leaves sshd as it is).

    The new setting is checked with ``sshd -t`` before sshd reloads, so a bad line never locks
    the operator out; key login (the deploy's own) is untouched.
    """
    wanted = run.knobs.qm_ssh_password_login
    if wanted is None:
        return
    p = run.platform
    value = "yes" if wanted else "no"
    if p.sshd_dropin_dir:
        change = config_file("ssh/sshd-qmha.conf.j2", f"{p.sshd_dropin_dir}/01-qmha.conf",
                             {"password_login": value}, name="sshd password login")
    else:
        change = files.line(name="sshd password login", path="/etc/ssh/sshd_config",
                            line=r"^#?\s*PasswordAuthentication\s.*", replace=f"PasswordAuthentication {value}")
    server.shell(name="sshd accepts the change, then reloads", _if=change.did_change,
                 commands=["sshd -t", f"systemctl reload {p.services['ssh']}"])


def package_sources(run: Run) -> list[tuple[PackageSource, str]]:
    """The repository files to point at a mirror on this node, with the mirror's URL (no trailing
    slash): ``qm_package_mirror`` and ``qm_epel_mirror`` where the platform lets the deploy own them."""
    p, k = run.platform, run.knobs
    wanted = [(p.package_source, k.qm_package_mirror), (p.epel_source, k.qm_epel_mirror)]
    return [(source, url.rstrip("/")) for source, url in wanted if source and url]


def node_packages(p: Platform, tomcat: Tomcat, app_mode: str, floating: bool, selinux_on: bool) -> list[str]:
    """Every package the node needs from the repositories it has, in the order the phases need them:
    installed in one transaction (one index refresh, one lock, triggers run once) before any phase
    configures a service. Left to their phases: nginx where a repository package must come first
    (EPEL on CentOS 7: that repository package is in here) and Loway's package (its repository is
    the app phase's).

    >>> from operations.platform import PLATFORMS
    >>> node_packages(PLATFORMS["debian12"], PLATFORMS["debian12"].tomcat, "war", False, False)[:4]
    ['chrony', 'rsync', 'cron', 'openssh-server']
    """
    packages = [*p.base_packages, *p.db_packages, *(p.db_physical_copy.packages if p.db_physical_copy else ()),
                *tomcat.packages, *(p.jdbc_packages if app_mode == "standin" else ()),
                *(p.nginx.repo_packages or p.nginx.packages),
                *((KEEPALIVED,) if floating else ()), *p.sync_packages,
                *(p.selinux.packages if p.selinux and selinux_on else ()), *p.firewall_packages]
    return list(dict.fromkeys(packages))


def held_units(p: Platform, tomcat: Tomcat, floating: bool) -> list[str]:
    """The units the deploy configures before it starts them: where packages start their services as
    they install (``Platform.starts_on_install``), the node's package transaction holds these
    (``platform.holding_starts``), so each starts once, configured. Both names a package's install
    script may ask with (``tomcat10``, ``tomcat10.service``). Not the database: a server installed but
    never started would stop the replication plan of a run interrupted after the transaction (a
    server that does not answer is left alone for that run), so it starts as its package has it.

    >>> from operations.platform import PLATFORMS
    >>> held_units(PLATFORMS["debian12"], PLATFORMS["debian12"].tomcat, False)[:4]
    ['chrony', 'chrony.service', 'tomcat10', 'tomcat10.service']
    """
    units = [p.services["chrony"], tomcat.service, p.nginx.service, *((KEEPALIVED,) if floating else ())]
    names = [name for unit in units for name in (unit.removesuffix(".service"), unit_name(unit))]
    return list(dict.fromkeys(names))


@deploy("Base system")
def configure(run: Run):
    """Packages and services every node needs before the tiers; the project's folders. Repository
    files pointed at a mirror come first: before any package is installed."""
    p = run.platform
    for source, url in package_sources(run):
        config_file(source.template, source.path, {"mirror": url}, name=f"{source.path} from {url}",
                    user="root", group="root", mode="0644", create_remote_dir=False)
    names(run)
    for folder in (paths.ETC, paths.STATE):
        managed.directory(name=folder, path=folder, user="root", group="root", mode="0755")
    tomcat = tomcat_for(p, run.knobs.qm_app_mode)
    selinux_on = p.selinux is not None and node_fact(host, SELinuxMode) != "disabled"
    floating = bool(run.knobs.qm_floating_addresses)
    install_packages(p, node_packages(p, tomcat, run.knobs.qm_app_mode, floating, selinux_on),
                     hold=held_units(p, tomcat, floating), name="The node's packages (one transaction)")
    time_sync(run)
    for role in ("ssh", "cron"):
        managed.service(name=f"{p.services[role]} enabled and running", service=p.services[role],
                        running=True, enabled=True)
    ssh_policy(run)
