"""The per-OS-family table picks the row by distribution id and major version, and names what it supports."""

import pytest
from pyinfra.facts.server import LinuxDistribution

from operations.platform import PLATFORMS, UnsupportedPlatform, for_distribution

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


def test_debian_12_gets_the_debian_row():
    assert for_distribution(distro("debian", 12)).key == "debian12"


def test_debian_13_gets_the_debian13_row():
    assert for_distribution(distro("debian", 13)).key == "debian13"


def test_a_trixie_node_is_read_as_debian_13_from_its_os_release():
    fact = LinuxDistribution().process(TRIXIE_RELEASE_FILES.splitlines())
    assert for_distribution(fact).key == "debian13"


def test_debian_13_runs_the_mariadb_trixie_ships():
    assert PLATFORMS["debian13"].db_packaged_version == (11, 8)


@pytest.mark.parametrize("dist_id,major", [("centos", 8), ("debian", 11), ("debian", 14), ("ubuntu", 22)])
def test_other_systems_are_refused_naming_the_supported_ones(dist_id, major):
    with pytest.raises(UnsupportedPlatform,
                       match=r"is not supported \(supported: CentOS/RHEL 7, Debian 12, Debian 13\)"):
        for_distribution(distro(dist_id, major))


def test_every_row_names_the_same_service_roles():
    roles = {frozenset(p.services) for p in PLATFORMS.values()}
    assert len(roles) == 1
