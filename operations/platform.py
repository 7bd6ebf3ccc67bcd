"""One row per supported release: package names, service names and paths.

Everything that differs between the releases (CentOS/RHEL 7, the EL 8 and EL 9 rebuilds, Debian 12 and 13)
lives in ``PLATFORMS``; operations ask ``for_distribution(node_fact(host, LinuxDistribution))`` for the
row and never branch on the OS themselves. A release is written as the row it follows with what
differs (``dataclasses.replace``): EL 8 as EL 7, EL 9 as EL 8,
Debian 13 as Debian 12.

Example:

.. code:: python

    from pyinfra import host
    from pyinfra.facts.server import LinuxDistribution
    from operations.platform import for_distribution

    p = for_distribution(node_fact(host, LinuxDistribution))
    p.services["chrony"]   # "chronyd" on EL, "chrony" on Debian 12
    supported_text()       # "EL: CentOS/RHEL 7, ...; Debian: Debian 12"
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, replace
from typing import Any

from pyinfra import host
from pyinfra.api import StringCommand, operation
from pyinfra.facts.server import LinuxDistribution
from pyinfra.operations import apt, dnf, yum

from .facts.system import InstalledPackages
from .memo import per_run
from .prefetch import node_fact
from .render import render


@dataclass(frozen=True)
class Tomcat:
    """One Tomcat flavour: the distribution's, or the one Loway's QueueMetrics package brings."""

    #: packages that install it (empty: it comes with the webapp's own package)
    packages: tuple[str, ...]
    #: systemd unit (a SysV script's generated unit for Loway's)
    service: str
    #: directory holding server.xml
    conf_dir: str
    #: the Host's appBase; the webapp lives in ``<webapps_dir>/queuemetrics``
    webapps_dir: str
    #: Tomcat's common class path (JDBC drivers linked here are seen by every webapp)
    lib_dir: str
    #: the user Tomcat runs as (added to the TLS group to read its keystore)
    user: str
    #: servlet API namespace of this Tomcat: "javax" (<= 9) or "jakarta" (>= 10)
    servlet_api: str
    #: how server.xml declares the HTTPS connector's keystore: "connector" attributes
    #: (Tomcat 6/7) or an "sslhostconfig" element (Tomcat 8.5 and later)
    tls_style: str


@dataclass(frozen=True)
class Nginx:
    #: packages, in install order (a repository package first when nginx is not in the base OS)
    repo_packages: tuple[str, ...]
    packages: tuple[str, ...]
    service: str
    #: the directory nginx.conf includes ``*.conf`` from
    conf_d: str
    #: the distribution's default site, removed so the cluster's server blocks answer; None if none
    default_site_link: str | None
    #: the system's CA bundle, trusted for the peer when a public certificate comes without its CA
    system_ca_bundle: str


@dataclass(frozen=True)
class SELinux:
    """What an enforcing SELinux policy needs for the cluster (EL family)."""

    #: packages bringing semanage and restorecon
    packages: tuple[str, ...]
    #: booleans turned on persistently, where the policy has them: nginx connecting to Tomcat
    #: (its own and the peer's), Tomcat connecting to the databases
    booleans: tuple[str, ...]
    #: TCP ports the targeted policy lets nginx (httpd_t) listen on: http_port_t's (8081, say, is
    #: transproxy_port_t, which nginx may not bind)
    web_ports: tuple[int, ...] = (80, 81, 443, 488, 8008, 8009, 8443, 9000)


@dataclass(frozen=True)
class PackageSource:
    """A repository file of the distribution that the deploy can point at a mirror
    (``qm_package_mirror``, ``qm_epel_mirror``), written before any package is installed."""

    #: the file replaced on the node
    path: str
    #: its text, from templates/ (``{{ mirror }}``: the knob's URL)
    template: str
    #: a path under the mirror that exists when it holds what the deploy installs
    probe: str
    #: a URL that serves it, for the fix
    example: str


@dataclass(frozen=True)
class PhysicalCopy:
    """The server's own hot physical backup, streamed node to node to rebuild a node from its peer."""

    #: packages bringing the tools (installed with the database packages)
    packages: tuple[str, ...]
    #: the backup tool (``--backup --stream``, ``--prepare``) and the stream extractor
    backup: str
    extract: str
    #: the file in a prepared copy naming the binary log position and GTID it was taken at (newest name first)
    binlog_info: tuple[str, ...]


#: where a prepared copy names the GTID it was taken at: newer servers' name first (10.3-10.x: xtrabackup's)
BINLOG_INFO = ("mariadb_backup_binlog_info", "xtrabackup_binlog_info")

#: family key -> how preflight names it
FAMILIES = {"el": "EL", "debian": "Debian"}


@dataclass(frozen=True)
class Platform:
    key: str
    label: str
    #: "el" or "debian" (``FAMILIES``)
    family: str
    #: distribution ids (``/etc/os-release`` ID, lower case) and the one major version supported
    ids: tuple[str, ...]
    major: int
    #: "apt", "yum" or "dnf" (``packages_installed`` runs pyinfra's operation of that name)
    package_manager: str
    #: extra arguments for the package operation (apt refreshes its lists at most daily)
    package_args: dict[str, Any]
    base_packages: tuple[str, ...]
    #: role -> systemd unit name
    services: dict[str, str]
    chrony_conf: str
    chrony_drift_file: str
    #: file and variable holding chronyd's command-line options
    chrony_options_file: str
    chrony_options_var: str
    chrony_default_options: str
    #: MariaDB from the distribution: packages (server, client, dump tool), unit, config drop-in dir
    db_packages: tuple[str, ...]
    db_service: str
    #: socket-activation units the package enables: they would listen on every address, whatever
    #: the server's bind_address says, so the deploy turns them off
    db_socket_units: tuple[str, ...]
    db_config_dir: str
    #: where the server keeps its data (the package's default datadir)
    db_data_dir: str
    #: command-line client, dump tool and admin tool names (MariaDB 11 may ship no ``mysql``-named client)
    db_client: str
    db_dump: str
    db_admin: str
    #: how root reaches the server on the node: "unix_socket" (no password) or "password"
    #: (set by the deploy, kept in an owner-only /root/.my.cnf)
    db_root_auth: str
    #: the version the distribution's package installs, for decisions made before it is installed
    db_packaged_version: tuple[int, int]
    #: whether that server can present an ECDSA certificate to its peer (5.5 on OpenSSL 1.0.2: no)
    db_serves_ecdsa: bool
    #: where the package manager's repositories come from, when the deploy may point them at a mirror
    #: (None: the node's own configuration is used as it is)
    package_source: PackageSource | None
    epel_source: PackageSource | None
    #: a command that succeeds when the package manager reaches its repositories (bounded)
    repo_check: str | None
    #: the distribution's Tomcat; None: the release packages none (only Loway's package brings one)
    tomcat: Tomcat | None
    #: Tomcat as installed by Loway's QueueMetrics package (qm_app_mode "loway"); None: no such package
    loway_tomcat: Tomcat | None
    #: the webapp's JDBC driver package and the jar it installs (linked into Tomcat's class path)
    jdbc_packages: tuple[str, ...]
    jdbc_jar: str
    nginx: Nginx
    #: directory of sshd drop-ins read before sshd_config's own lines; None: edit sshd_config itself
    sshd_dropin_dir: str | None
    #: what the sync script needs besides sshd: an ssh client, flock, logger, and sudo (the rebuild's
    #: receiving end runs as root through one sudo rule of the sync user)
    sync_packages: tuple[str, ...]
    #: "firewalld" or "nftables" (a table of the project's own), and the packages for it
    firewall: str
    firewall_packages: tuple[str, ...]
    #: None: the family has no SELinux by default
    selinux: SELinux | None = None
    #: why the deploy leaves the node's repository files alone (None: the row has nothing to add),
    #: said when a mirror knob is set anyway
    repo_files_note: str | None = None
    #: what to do when the node's repositories answer nothing and the deploy cannot point them elsewhere
    repo_fix: str = "fix the node's repositories"
    #: a node is rebuilt from its peer with this physical copy; None: with a dump (the seed's path)
    db_physical_copy: PhysicalCopy | None = None
    #: whether packages start their services as they install them (Debian's way; RPM's is not to):
    #: the deploy then holds those it configures first (``holding_starts``)
    starts_on_install: bool = False


PLATFORMS: dict[str, Platform] = {
    "el7": Platform(
        key="el7",
        label="CentOS/RHEL 7",
        family="el",
        ids=("centos", "rhel"),
        major=7,
        package_manager="yum",
        package_args={},
        base_packages=("chrony", "rsync", "cronie", "openssh-server"),
        services={"ssh": "sshd", "chrony": "chronyd", "cron": "crond"},
        chrony_conf="/etc/chrony.conf",
        chrony_drift_file="/var/lib/chrony/drift",
        chrony_options_file="/etc/sysconfig/chronyd",
        chrony_options_var="OPTIONS",
        chrony_default_options="",
        db_packages=("mariadb-server", "mariadb"),
        db_service="mariadb",
        db_socket_units=(),
        db_config_dir="/etc/my.cnf.d",
        db_data_dir="/var/lib/mysql",
        db_client="mysql",
        db_dump="mysqldump",
        db_admin="mysqladmin",
        db_root_auth="password",
        db_packaged_version=(5, 5),
        db_serves_ecdsa=False,
        package_source=PackageSource(path="/etc/yum.repos.d/CentOS-Base.repo",
                                     template="packages/centos7-base.repo.j2",
                                     probe="os/x86_64/repodata/repomd.xml",
                                     example="https://vault.centos.org/7.9.2009"),
        epel_source=PackageSource(path="/etc/yum.repos.d/epel.repo", template="packages/epel7.repo.j2",
                                  probe="x86_64/repodata/repomd.xml",
                                  example="https://archives.fedoraproject.org/pub/archive/epel/7"),
        repo_check="timeout 120 yum -q makecache fast",
        tomcat=Tomcat(
            packages=("tomcat",), service="tomcat", conf_dir="/etc/tomcat",
            webapps_dir="/var/lib/tomcat/webapps", lib_dir="/usr/share/tomcat/lib", user="tomcat",
            servlet_api="javax", tls_style="connector",
        ),
        loway_tomcat=Tomcat(
            packages=(), service="qm-tomcat6", conf_dir="/usr/local/queuemetrics/tomcat/conf",
            webapps_dir="/usr/local/queuemetrics/tomcat/webapps",
            lib_dir="/usr/local/queuemetrics/tomcat/lib", user="root",
            servlet_api="javax", tls_style="connector",
        ),
        jdbc_packages=("mariadb-java-client",),
        jdbc_jar="/usr/share/java/mariadb-java-client.jar",
        nginx=Nginx(repo_packages=("epel-release",), packages=("nginx",), service="nginx",
                    conf_d="/etc/nginx/conf.d", default_site_link=None,
                    system_ca_bundle="/etc/pki/tls/certs/ca-bundle.crt"),
        sshd_dropin_dir=None,
        sync_packages=("openssh-clients", "util-linux", "sudo"),
        firewall="firewalld",
        firewall_packages=("firewalld",),
        selinux=SELinux(packages=("policycoreutils-python",),
                        booleans=("httpd_can_network_connect", "tomcat_can_network_connect_db")),
    ),
    "debian12": Platform(
        key="debian12",
        label="Debian 12",
        family="debian",
        ids=("debian",),
        major=12,
        package_manager="apt",
        package_args={"update": True, "cache_time": 86400},
        base_packages=("chrony", "rsync", "cron", "openssh-server"),
        services={"ssh": "ssh", "chrony": "chrony", "cron": "cron"},
        chrony_conf="/etc/chrony/chrony.conf",
        chrony_drift_file="/var/lib/chrony/chrony.drift",
        chrony_options_file="/etc/default/chrony",
        chrony_options_var="DAEMON_OPTS",
        chrony_default_options="-F 1",
        db_packages=("mariadb-server", "mariadb-client"),
        db_service="mariadb",
        db_socket_units=("mariadb.socket",),
        db_config_dir="/etc/mysql/mariadb.conf.d",
        db_data_dir="/var/lib/mysql",
        db_client="mariadb",
        db_dump="mariadb-dump",
        db_admin="mariadb-admin",
        db_root_auth="unix_socket",
        db_packaged_version=(10, 11),
        db_serves_ecdsa=True,
        package_source=None,
        epel_source=None,
        repo_check=None,
        tomcat=Tomcat(
            packages=("tomcat10",), service="tomcat10", conf_dir="/etc/tomcat10",
            webapps_dir="/var/lib/tomcat10/webapps", lib_dir="/usr/share/tomcat10/lib", user="tomcat",
            servlet_api="jakarta", tls_style="sslhostconfig",
        ),
        loway_tomcat=None,
        jdbc_packages=("libmariadb-java",),
        jdbc_jar="/usr/share/java/mariadb-java-client.jar",
        nginx=Nginx(repo_packages=(), packages=("nginx",), service="nginx", conf_d="/etc/nginx/conf.d",
                    default_site_link="/etc/nginx/sites-enabled/default",
                    system_ca_bundle="/etc/ssl/certs/ca-certificates.crt"),
        sshd_dropin_dir="/etc/ssh/sshd_config.d",
        sync_packages=("openssh-client", "util-linux", "bsdutils", "sudo"),
        starts_on_install=True,
        firewall="nftables",
        firewall_packages=("nftables",),
        db_physical_copy=PhysicalCopy(packages=("mariadb-backup",), backup="mariadb-backup", extract="mbstream",
                                      binlog_info=BINLOG_INFO),
    ),
}

#: EL 8 (Rocky, AlmaLinux, RHEL, CentOS Stream 8) as EL 7, with what its AppStream ships: MariaDB 10.3
#: (root still by password; ``mysql``-named tools; the hot-backup tool ``mariabackup``), nginx without
#: EPEL, dnf, semanage in policycoreutils-python-utils; and no Tomcat package at all
PLATFORMS["el8"] = replace(
    PLATFORMS["el7"],
    key="el8",
    label="Rocky/AlmaLinux/RHEL/CentOS Stream 8",
    ids=("rocky", "almalinux", "rhel", "centos"),
    major=8,
    package_manager="dnf",
    db_packaged_version=(10, 3),
    db_serves_ecdsa=True,
    db_physical_copy=PhysicalCopy(packages=("mariadb-backup",), backup="mariabackup", extract="mbstream",
                                  binlog_info=BINLOG_INFO),
    package_source=None,
    epel_source=None,
    repo_check="timeout 120 dnf -q makecache",
    repo_files_note="their repository files differ per rebuild, and RHEL's come from its subscription",
    repo_fix="use the node's own repositories or a local mirror configured on the node (RHEL: an active "
             "subscription, `subscription-manager status`)",
    tomcat=None,
    nginx=replace(PLATFORMS["el7"].nginx, repo_packages=()),
    selinux=replace(PLATFORMS["el7"].selinux, packages=("policycoreutils-python-utils",)),
)

#: EL 9 as EL 8, with MariaDB 10.5 (root by unix socket, ``mariadb``-named tools, ``mariadb-backup``),
#: Tomcat 9 back in AppStream (javax, EL 7's paths), sshd drop-ins and chronyd's seccomp filter option
PLATFORMS["el9"] = replace(
    PLATFORMS["el8"],
    key="el9",
    label="Rocky/AlmaLinux/RHEL/CentOS Stream 9",
    major=9,
    db_client="mariadb",
    db_dump="mariadb-dump",
    db_admin="mariadb-admin",
    db_root_auth="unix_socket",
    db_packaged_version=(10, 5),
    db_physical_copy=PhysicalCopy(packages=("mariadb-backup",), backup="mariadb-backup", extract="mbstream",
                                  binlog_info=BINLOG_INFO),
    tomcat=replace(PLATFORMS["el7"].tomcat, tls_style="sslhostconfig"),
    sshd_dropin_dir="/etc/ssh/sshd_config.d",
    chrony_default_options="-F 2",
)

# Debian 13 (trixie): Debian 12's row with trixie's MariaDB (11.8). The rest was checked on trixie nodes
# and is the same: tomcat10 (10.1, Jakarta, same paths and user; trixie also has tomcat11, not used),
# libmariadb-java (still Connector/J 2.7.6 at the same jar path: trixie packages no 3.x), the
# mariadb-* client names, mariadb.socket, chrony/cron/ssh units, nginx, nftables.
PLATFORMS["debian13"] = replace(
    PLATFORMS["debian12"],
    key="debian13",
    label="Debian 13",
    major=13,
    db_packaged_version=(11, 8),
)

SUPPORTED = ", ".join(p.label for p in PLATFORMS.values())


class UnsupportedPlatform(ValueError):
    pass


def rows_in_order() -> list[Platform]:
    """Every row, family by family (``FAMILIES``' order), oldest release first."""
    return sorted(PLATFORMS.values(), key=lambda p: (list(FAMILIES).index(p.family), p.major))


def supported_releases() -> dict[str, list[str]]:
    """The supported releases, family by family (``FAMILIES``' names), oldest first.

    .. code:: python

        supported_releases()["EL"]   # ["CentOS/RHEL 7", "Rocky/AlmaLinux/RHEL/CentOS Stream 8", ...]
    """
    result: dict[str, list[str]] = {}
    for p in rows_in_order():
        result.setdefault(FAMILIES[p.family], []).append(p.label)
    return result


def supported_text() -> str:
    """``supported_releases()`` as one line, as preflight names them.

    .. code:: python

        supported_text()   # "EL: CentOS/RHEL 7, ...; Debian: Debian 12"
    """
    return "; ".join(f"{family}: {', '.join(labels)}" for family, labels in supported_releases().items())


def releases_with_tomcat() -> list[str]:
    """The supported releases whose distribution packages a Tomcat, in ``rows_in_order``.

    .. code:: python

        releases_with_tomcat()   # ["CentOS/RHEL 7", "Rocky/AlmaLinux/RHEL/CentOS Stream 9", "Debian 12"]
    """
    return [p.label for p in rows_in_order() if p.tomcat is not None]


def distribution_id(distro: dict) -> str:
    return str((distro.get("release_meta") or {}).get("ID") or distro.get("name") or "").lower()


def for_distribution(distro: dict) -> Platform:
    """The row for a ``LinuxDistribution`` fact, or UnsupportedPlatform naming what was found and,
    family by family, what is supported."""
    dist_id, major = distribution_id(distro), distro.get("major")
    for platform in PLATFORMS.values():
        if dist_id in platform.ids and major == platform.major:
            return platform
    found = f"{distro.get('name') or 'an unknown OS'} {major if major is not None else ''}".strip()
    raise UnsupportedPlatform(f"{found} is not supported (supported: {supported_text()})")


def platform_of(h) -> Platform:
    """Host H's row, its ``LinuxDistribution`` read once per deploy run (an OS does not change
    during one); raises UnsupportedPlatform like ``for_distribution``.

    .. code:: python

        p = platform_of(host)
    """
    # not failing the node when it cannot answer: preflight names why (no root: a wrong sudo password)
    return for_distribution(per_run(("distribution", h.name),
                                    lambda: node_fact(h, LinuxDistribution, _ignore_errors=True)))


#: the policy-rc.d through which Debian's install scripts ask whether they may start a service
POLICY_RC = "/usr/sbin/policy-rc.d"
#: the line that marks a policy-rc.d as the deploy's own (replaced and removed by it, never another's)
HOLD_MARK = "qm-ha: service starts held during the node's package transaction"
#: a policy left behind by an interrupted transaction holds nothing once this old
HOLD_EXPIRY_S = 3 * 3600


def holding_starts(command, units) -> StringCommand:
    """COMMAND (a package transaction) run with UNITS not started by their packages' install
    scripts unless already running: a ``policy-rc.d`` of the deploy's own in place while it runs,
    removed when it ends (also on a hang-up or interrupt). A ``policy-rc.d`` the node has of its own
    is left as it is (and nothing is held).

    .. code:: python

        holding_starts("apt-get install -y tomcat10", ["tomcat10", "tomcat10.service"])
    """
    policy = render("packages/policy-rc.d.j2", mark=HOLD_MARK, units=list(units), expiry_s=HOLD_EXPIRY_S)
    script = (f'P={POLICY_RC}; if [ ! -e "$P" ] || grep -qF {shlex.quote(HOLD_MARK)} "$P"; then '
              f"cat > \"$P.qmha\" <<'QMHA_POLICY'\n{policy}QMHA_POLICY\n"
              'chmod 755 "$P.qmha" && mv -f "$P.qmha" "$P" || exit 1; '
              "trap 'rm -f \"$P\"' EXIT; trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM; fi;")
    return StringCommand(script, command)


@operation()
def packages_installed(manager: str, packages: list[str], package_args: dict, planned: bool = False,
                       hold: tuple[str, ...] = ()):
    """PACKAGES installed by the MANAGER's package operation; when they all are already, nothing
    more is read or refreshed (no daily apt list update check on every run). PLANNED: an earlier
    operation of this run installs them all (the node's one package transaction): nothing to do.
    HOLD: units the packages' install scripts do not start (``holding_starts``).

    .. code:: python

        packages_installed(manager="apt", packages=["nginx"], package_args={"update": True})
    """
    if planned:
        host.noop(f"{', '.join(packages)} in the node's package transaction")
        return
    installed = node_fact(host, InstalledPackages, manager=manager, packages=sorted(packages)) or []
    if all(name in installed for name in packages):
        host.noop(f"{', '.join(packages)} installed")
        return
    operation = {"apt": apt.packages, "yum": yum.packages, "dnf": dnf.packages}[manager]
    for command in operation._inner(packages=packages, **package_args):
        installs = " install " in (command.get_raw_value() if isinstance(command, StringCommand) else str(command))
        yield holding_starts(command, hold) if hold and installs else command  # not the index refresh


def planned_packages(h) -> set[str]:
    """The packages an operation of this run already installs on host H (one set per host per run).

    .. code:: python

        "nginx" in planned_packages(host)
    """
    return per_run(("planned packages", h.name), set)


def install_packages(platform: Platform, packages, hold: tuple[str, ...] = (), **kwargs):
    """Install PACKAGES with the platform's package operation (apt refreshing its lists daily; yum;
    dnf), unless an earlier operation of this run installs them all. What it installs is recorded
    here, when the operation is made, never in its body (pyinfra may run a body more than once).
    HOLD: units not started by the install (where the platform's packages start theirs).

    .. code:: python

        install_packages(p, ["mariadb-server"], name="Install MariaDB")
    """
    packages = list(dict.fromkeys(packages))
    planned = planned_packages(host)
    already = all(name in planned for name in packages)
    planned.update(packages)
    return packages_installed(manager=platform.package_manager, packages=packages,
                              package_args=dict(platform.package_args), planned=already,
                              hold=tuple(hold) if platform.starts_on_install else (), **kwargs)
