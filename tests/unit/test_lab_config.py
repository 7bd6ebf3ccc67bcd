"""The lab's configuration from the environment, and the node image each flavour is built as."""

import os

import pytest

from lab import image
from lab.containers import LabConfig
from lab.docker import LabError


def test_a_relative_state_dir_is_made_absolute(tmp_path, monkeypatch):
    # docker reads a relative path in `-v SRC:DST` as a volume's name, not a folder
    monkeypatch.chdir(tmp_path)
    cfg = LabConfig.from_env({"LAB_STATE_DIR": ".lab-debian13"})
    assert cfg.state_dir == tmp_path / ".lab-debian13"
    assert os.path.isabs(cfg.data_disk("node-a"))


def test_an_absolute_state_dir_is_kept(tmp_path):
    assert LabConfig.from_env({"LAB_STATE_DIR": str(tmp_path)}).state_dir == tmp_path


def test_lab_os_picks_the_flavour():
    assert LabConfig.from_env({"LAB_OS": "debian13"}).lab_os == "debian13"
    assert LabConfig.from_env({}).lab_os == "debian12"


@pytest.mark.parametrize("lab_os,suite", [("debian12", "bookworm"), ("debian13", "trixie")])
def test_each_debian_flavour_is_built_from_its_suite_and_tagged_with_it(lab_os, suite):
    assert image.SUITES[lab_os] == suite
    assert image.image_tag(lab_os) == f"qmha-node:{lab_os}-{suite}-{image.recipe_hash()}"


def test_the_centos7_tag_names_no_suite():
    assert image.image_tag("centos7") == f"qmha-node:centos7-{image.recipe_hash()}"


def test_an_unknown_flavour_is_refused_with_the_list(monkeypatch):
    monkeypatch.setattr(image.docker, "inspect", lambda *args: None)
    with pytest.raises(LabError, match="use one of debian12, debian13, centos7"):
        image.ensure_image("debian11")
