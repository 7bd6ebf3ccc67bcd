"""Plans of the whole deploy for fresh CentOS 7, Debian 12 and Debian 13 nodes, made once per test module."""

import pytest

from tests.deploy.harness import load_fixture, plan


@pytest.fixture(scope="module")
def el7(tmp_path_factory):
    return plan(load_fixture("el7"), tmp_path_factory.mktemp("el7"))


@pytest.fixture(scope="module")
def debian12(tmp_path_factory):
    return plan(load_fixture("debian12"), tmp_path_factory.mktemp("debian12"))


@pytest.fixture(scope="module")
def debian13(tmp_path_factory):
    return plan(load_fixture("debian13"), tmp_path_factory.mktemp("debian13"))
