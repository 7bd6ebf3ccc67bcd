"""The per-OS-family table picks the row by distribution id and major version, and names what it supports."""

import pytest

from operations.platform import PLATFORMS, UnsupportedPlatform, for_distribution


def distro(dist_id, major, name=None):
    return {"name": name or dist_id.title(), "major": major, "minor": None, "release_meta": {"ID": dist_id}}


@pytest.mark.parametrize("dist_id", ["centos", "rhel"])
def test_el7_family_gets_the_el7_row(dist_id):
    assert for_distribution(distro(dist_id, 7)).key == "el7"


def test_debian_12_gets_the_debian_row():
    assert for_distribution(distro("debian", 12)).key == "debian12"


@pytest.mark.parametrize("dist_id,major", [("centos", 8), ("debian", 11), ("ubuntu", 22)])
def test_other_systems_are_refused_naming_the_supported_ones(dist_id, major):
    with pytest.raises(UnsupportedPlatform, match=r"is not supported \(supported: CentOS/RHEL 7, Debian 12\)"):
        for_distribution(distro(dist_id, major))


def test_every_row_names_the_same_service_roles():
    roles = {frozenset(p.services) for p in PLATFORMS.values()}
    assert len(roles) == 1
