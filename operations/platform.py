"""One row per supported OS family: package names, service names and paths.

Everything that differs between CentOS/RHEL 7 and Debian 12 lives in ``PLATFORMS``; operations
ask ``for_distribution(host.get_fact(LinuxDistribution))`` for the row and never branch on the
OS themselves.

Example:

.. code:: python

    from pyinfra import host
    from pyinfra.facts.server import LinuxDistribution
    from operations.platform import for_distribution

    p = for_distribution(host.get_fact(LinuxDistribution))
    p.services["chrony"]   # "chronyd" on EL7, "chrony" on Debian 12
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Platform:
    key: str
    label: str
    #: distribution ids (``/etc/os-release`` ID, lower case) and the one major version supported
    ids: tuple[str, ...]
    major: int
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
    db_config_dir: str
    #: command-line client and dump tool names (MariaDB 11 may ship no ``mysql``-named client)
    db_client: str
    db_dump: str
    #: how root reaches the server on the node: "unix_socket" (no password) or "password"
    #: (set by the deploy, kept in an owner-only /root/.my.cnf)
    db_root_auth: str
    #: the version the distribution's package installs, for decisions made before it is installed
    db_packaged_version: tuple[int, int]


PLATFORMS: dict[str, Platform] = {
    "el7": Platform(
        key="el7",
        label="CentOS/RHEL 7",
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
        db_config_dir="/etc/my.cnf.d",
        db_client="mysql",
        db_dump="mysqldump",
        db_root_auth="password",
        db_packaged_version=(5, 5),
    ),
    "debian12": Platform(
        key="debian12",
        label="Debian 12",
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
        db_config_dir="/etc/mysql/mariadb.conf.d",
        db_client="mariadb",
        db_dump="mariadb-dump",
        db_root_auth="unix_socket",
        db_packaged_version=(10, 11),
    ),
}

SUPPORTED = ", ".join(p.label for p in PLATFORMS.values())


class UnsupportedPlatform(ValueError):
    pass


def distribution_id(distro: dict) -> str:
    return str((distro.get("release_meta") or {}).get("ID") or distro.get("name") or "").lower()


def for_distribution(distro: dict) -> Platform:
    """The row for a ``LinuxDistribution`` fact, or UnsupportedPlatform naming what was found."""
    dist_id, major = distribution_id(distro), distro.get("major")
    for platform in PLATFORMS.values():
        if dist_id in platform.ids and major == platform.major:
            return platform
    found = f"{distro.get('name') or 'an unknown OS'} {major if major is not None else ''}".strip()
    raise UnsupportedPlatform(f"{found} is not supported (supported: {SUPPORTED})")


def install_packages(platform: Platform, packages, **kwargs):
    """Install PACKAGES with the platform's package operation (apt refreshing its lists daily).

    .. code:: python

        install_packages(p, ["mariadb-server"], name="Install MariaDB")
    """
    from pyinfra.operations import apt, yum

    operation = {"apt": apt.packages, "yum": yum.packages}[platform.package_manager]
    return operation(packages=list(packages), **platform.package_args, **kwargs)
