"""The per-release table picks the row by distribution id and major version, and names what it supports."""

import pytest
from pyinfra.facts.server import LinuxDistribution

from operations.phases.app.tomcat import AppConfigError, tomcat_for
from operations.platform import (FAMILIES, PLATFORMS, UnsupportedPlatform, for_distribution, releases_with_tomcat,
                                 supported_releases, supported_text)

# what the LinuxDistribution fact's command prints on a trixie node (its /etc/*-release files)
TRIXIE_RELEASE_FILES = """\
/etc/os-release
PRETTY_NAME="Debian GNU/Linux 13 (trixie)"
NAME="Debian GNU/Linux"
VERSION_ID="13"
VERSION="13 (trixie)"
VERSION_CODENAME=trixie
DEBIAN_VERSION_FULL=13.2
ID=debian
HOME_URL="https://www.debian.org/"
---
"""


def distro(dist_id, major, name=None):
    return {"name": name or dist_id.title(), "major": major, "minor": None, "release_meta": {"ID": dist_id}}


@pytest.mark.parametrize("dist_id", ["centos", "rhel"])
def test_el7_family_gets_the_el7_row(dist_id):
    assert for_distribution(distro(dist_id, 7)).key == "el7"


@pytest.mark.parametrize("dist_id", ["rocky", "almalinux", "rhel", "centos"])
@pytest.mark.parametrize("major", [8, 9])
def test_el8_and_el9_rebuilds_get_their_releases_row(dist_id, major):
    assert for_distribution(distro(dist_id, major)).key == f"el{major}"


def test_debian_12_gets_the_debian_row():
    assert for_distribution(distro("debian", 12)).key == "debian12"


def test_debian_13_gets_the_debian13_row():
    assert for_distribution(distro("debian", 13)).key == "debian13"


def test_a_trixie_node_is_read_as_debian_13_from_its_os_release():
    fact = LinuxDistribution().process(TRIXIE_RELEASE_FILES.splitlines())
    assert for_distribution(fact).key == "debian13"


def test_debian_13_runs_the_mariadb_trixie_ships():
    assert PLATFORMS["debian13"].db_packaged_version == (11, 8)


@pytest.mark.parametrize("dist_id,major", [("centos", 6), ("rocky", 10), ("debian", 11), ("debian", 14),
                                           ("ubuntu", 22), ("fedora", 40)])
def test_other_systems_are_refused_naming_the_supported_ones(dist_id, major):
    with pytest.raises(UnsupportedPlatform, match=rf"{dist_id.title()} {major} is not supported \(supported: EL: "
                                                  r"CentOS/RHEL 7, .*; Debian: Debian 12, Debian 13"):
        for_distribution(distro(dist_id, major))


def test_supported_releases_are_named_family_by_family_oldest_first():
    assert supported_releases()["EL"][:3] == ["CentOS/RHEL 7", "Rocky/AlmaLinux/RHEL/CentOS Stream 8",
                                              "Rocky/AlmaLinux/RHEL/CentOS Stream 9"]
    assert supported_releases()["Debian"][0] == "Debian 12"
    assert list(supported_releases()) == ["EL", "Debian"]


def test_supported_text_is_one_line_of_families():
    assert supported_text().startswith("EL: CentOS/RHEL 7, Rocky/AlmaLinux/RHEL/CentOS Stream 8, ")
    assert "; Debian: Debian 12" in supported_text()


def test_every_row_names_a_known_family_and_every_family_has_a_row():
    assert {p.family for p in PLATFORMS.values()} == set(FAMILIES)


def test_every_row_names_the_same_service_roles():
    roles = {frozenset(p.services) for p in PLATFORMS.values()}
    assert len(roles) == 1


def test_el8_and_el9_install_with_dnf_and_leave_their_repositories_alone():
    for key in ("el8", "el9"):
        p = PLATFORMS[key]
        assert (p.package_manager, p.package_source, p.epel_source, p.nginx.repo_packages) == ("dnf", None, None, ())
        assert p.repo_check == "timeout 120 dnf -q makecache"


def test_el8_has_mariadb_10_3_with_root_by_password_and_mariabackup():
    p = PLATFORMS["el8"]
    assert (p.db_packaged_version, p.db_root_auth, p.db_client, p.db_dump) == ((10, 3), "password", "mysql", "mysqldump")
    assert (p.db_physical_copy.packages, p.db_physical_copy.backup) == (("mariadb-backup",), "mariabackup")


def test_el9_has_mariadb_10_5_with_root_by_socket_and_mariadb_backup():
    p = PLATFORMS["el9"]
    assert (p.db_packaged_version, p.db_root_auth, p.db_client, p.db_dump) == \
        ((10, 5), "unix_socket", "mariadb", "mariadb-dump")
    assert (p.db_physical_copy.packages, p.db_physical_copy.backup) == (("mariadb-backup",), "mariadb-backup")


def test_el8_packages_no_tomcat_and_el9_packages_tomcat_9():
    assert PLATFORMS["el8"].tomcat is None
    tomcat = PLATFORMS["el9"].tomcat
    assert (tomcat.packages, tomcat.conf_dir, tomcat.servlet_api, tomcat.tls_style) == \
        (("tomcat",), "/etc/tomcat", "javax", "sslhostconfig")


def test_releases_with_tomcat_leave_out_el8():
    assert "Rocky/AlmaLinux/RHEL/CentOS Stream 8" not in releases_with_tomcat()
    assert "Rocky/AlmaLinux/RHEL/CentOS Stream 9" in releases_with_tomcat()


@pytest.mark.parametrize("mode", ["war", "standin"])
def test_the_distributions_tomcat_on_el8_is_refused_naming_loway_mode(mode):
    with pytest.raises(AppConfigError, match=r"packages none; set qm_app_mode = 'loway' \(Loway's package brings "
                                             r"its own Tomcat\), or install a release that has one"):
        tomcat_for(PLATFORMS["el8"], mode)


def test_loway_mode_on_el8_uses_loways_tomcat():
    assert tomcat_for(PLATFORMS["el8"], "loway") == PLATFORMS["el7"].loway_tomcat


def test_el9_reads_sshd_drop_ins_and_el8_does_not():
    assert (PLATFORMS["el8"].sshd_dropin_dir, PLATFORMS["el9"].sshd_dropin_dir) == (None, "/etc/ssh/sshd_config.d")


def test_every_el_row_keeps_selinux_and_firewalld():
    for p in PLATFORMS.values():
        if p.family == "el":
            assert p.firewall == "firewalld" and p.selinux is not None


def test_the_node_packages_list_each_package_once_in_phase_order():
    from operations.phases.base import node_packages
    p = PLATFORMS["debian12"]
    packages = node_packages(p, p.tomcat, "standin", True, False)
    assert len(packages) == len(set(packages))
    assert packages.index("chrony") < packages.index("mariadb-server") < packages.index(p.tomcat.packages[0]) \
        < packages.index("nginx") < packages.index("keepalived")
    assert "libmariadb-java" in packages


def test_the_node_packages_leave_out_the_jdbc_driver_outside_the_stand_in_and_selinux_tools_where_it_is_off():
    from operations.phases.base import node_packages
    p = PLATFORMS["el7"]
    packages = node_packages(p, p.tomcat, "war", False, False)
    assert not set(p.jdbc_packages) & set(packages) and not set(p.selinux.packages) & set(packages)
    assert "keepalived" not in packages and "nginx" not in packages and "epel-release" in packages


def test_selinux_lets_nginx_listen_on_the_default_hop_port_and_not_on_8081():
    from operations.phases.preflight import selinux_refused_ports
    assert selinux_refused_ports(PLATFORMS["el9"], [8008, 443]) == []
    assert selinux_refused_ports(PLATFORMS["el7"], [8081]) == [8081]  # transproxy_port_t
    assert selinux_refused_ports(PLATFORMS["debian12"], [8081]) == []  # no SELinux
