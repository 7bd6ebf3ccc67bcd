"""The lab's data disk size: LAB_DATA_DISK_SIZE read as truncate reads it, 1G when unset."""

import pytest

from lab import containers
from lab.docker import LabError


def test_data_disks_are_1g_unless_lab_data_disk_size_says_otherwise():
    assert containers.LabConfig.from_env({}).data_disk_size == "1G"
    assert containers.LabConfig.from_env({"LAB_DATA_DISK_SIZE": "4G"}).data_disk_size == "4G"


@pytest.mark.parametrize("size,expected", [("4G", 4 << 30), ("512M", 512 << 20), ("1GiB", 1 << 30), ("4096", 4096)])
def test_disk_sizes_are_read_as_truncate_reads_them(size, expected):
    assert containers.disk_bytes(size) == expected


def test_a_size_that_is_not_one_is_refused_naming_the_variable():
    with pytest.raises(LabError, match="LAB_DATA_DISK_SIZE"):
        containers.disk_bytes("big")


def test_replacing_a_node_not_in_the_lab_is_refused():
    with pytest.raises(LabError, match="no node 'node-c'"):
        containers.replace(containers.LabConfig.from_env({}), "node-c")
