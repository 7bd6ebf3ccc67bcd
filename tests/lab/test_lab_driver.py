"""The lab driver on a second, throw-away lab: reuse, restart after a stop, remove only its own things."""

import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab import containers, docker, image

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
LAB = containers.LabConfig.from_env()
#: the throw-away labs' names and subnets, derived from this lab's own: beside every other lab
SPARE = f"{LAB.prefix}-spare"
SPARE7 = f"{LAB.prefix}-spare7"


def _subnet(offset: int) -> str:
    net = ipaddress.ip_network(LAB.subnet)
    return str(ipaddress.ip_network((int(net.network_address) + (offset << 8), net.prefixlen)))


SPARE_SUBNET = _subnet(13)   # 10.213.90.0/24 beside the default lab's 10.213.77.0/24
SPARE7_SUBNET = _subnet(14)
A, B = (str(ipaddress.ip_network(SPARE_SUBNET)[i]) for i in (11, 12))


def lab_cli(*args, **env):
    return subprocess.run([sys.executable, "-m", "lab", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=600, env={**os.environ, **env})


@pytest.fixture(scope="module")
def spare(tmp_path_factory):
    """A second lab (prefix SPARE) beside the main one; removed at the end."""
    env = {"LAB_PREFIX": SPARE, "LAB_SUBNET": SPARE_SUBNET,
           "LAB_STATE_DIR": str(tmp_path_factory.mktemp("spare-state"))}
    first = lab_cli("up", **env)
    assert first.returncode == 0, first.stdout + first.stderr
    yield env, first.stdout
    lab_cli("down", **env)
    docker.run("rm", "-f", f"{SPARE}-decoy", check=False)


def test_first_up_writes_the_state_the_inventory_reads(spare):
    env, _ = spare
    state = json.loads((Path(env["LAB_STATE_DIR"]) / "state.json").read_text())
    assert state["fqdn"] == "queuemetrics.lab.test"
    assert [(n["container"], n["address"]) for n in state["nodes"]] == [
        (f"{SPARE}-node-a", A), (f"{SPARE}-node-b", B)]
    assert state["dns_container"] == f"{SPARE}-dns" and state["client_container"] == f"{SPARE}-client"


def test_second_up_reuses_the_running_lab(spare):
    env, _ = spare
    again = lab_cli("up", **env)
    assert again.returncode == 0, again.stderr
    assert f"{SPARE}-node-a reused, {SPARE}-node-b reused" in again.stdout


def test_up_restarts_containers_found_stopped(spare):
    env, _ = spare
    docker.run("stop", f"{SPARE}-node-b")
    again = lab_cli("up", **env)
    assert again.returncode == 0, again.stderr
    assert f"{SPARE}-node-b started" in again.stdout
    assert docker.inspect("container", f"{SPARE}-node-b")["State"]["Running"]


def test_node_has_eth0_address_hostname_and_pinned_host_key(spare):
    env, _ = spare
    cfg = containers.LabConfig.from_env({**os.environ, **env})
    out = docker.run("exec", f"{SPARE}-node-a", "sh", "-c", "hostname; ip -4 -o addr show eth0").stdout
    assert out.startswith("node-a\n") and f"{A}/24" in out
    key = docker.run("exec", f"{SPARE}-node-a", "cat", "/etc/ssh/ssh_host_ed25519_key.pub").stdout.split()[1]
    assert f"{A} ssh-ed25519 {key}" in cfg.known_hosts.read_text()


def test_nodes_do_not_share_host_keys(spare):
    keys = {docker.run("exec", c, "cat", "/etc/ssh/ssh_host_ed25519_key.pub").stdout for c in (f"{SPARE}-node-a", f"{SPARE}-node-b")}
    assert len(keys) == 2


def test_each_node_keeps_its_database_on_a_small_disk_of_its_own(spare):
    sizes = {}
    for container in (f"{SPARE}-node-a", f"{SPARE}-node-b"):
        out = docker.run("exec", container, "df", "--output=source,size", "-B1M", containers.DATA_DIR).stdout
        source, size = out.splitlines()[-1].split()
        sizes[container] = (source, int(size))
    (a_dev, a_size), (b_dev, b_size) = sizes.values()
    assert a_dev != b_dev and a_dev.startswith("/dev/loop")
    assert 800 < a_size < 1100 and 800 < b_size < 1100
    docker.run("exec", f"{SPARE}-node-a", "touch", f"{containers.DATA_DIR}/only-on-a")
    assert not docker.ok("exec", f"{SPARE}-node-b", "test", "-e", f"{containers.DATA_DIR}/only-on-a")


def test_dns_rotates_the_cluster_name_between_both_nodes(spare):
    firsts = set()
    for _ in range(6):
        out = docker.run("exec", f"{SPARE}-client", "getent", "ahostsv4", "queuemetrics.lab.test").stdout
        firsts.add(out.split()[0])
    assert firsts == {A, B}


def test_down_removes_the_lab_and_nothing_else(spare):
    env, _ = spare
    docker.run("run", "-d", "--name", f"{SPARE}-decoy", "--entrypoint", "sleep", image.image_tag(LAB.lab_os), "300")
    down = lab_cli("down", **env)
    assert down.returncode == 0, down.stderr
    for role in ("node-a", "node-b", "dns", "client"):
        assert docker.inspect("container", f"{SPARE}-{role}") is None
    assert docker.inspect("network", f"{SPARE}-lab") is None
    assert docker.inspect("container", f"{SPARE}-decoy") is not None
    disks = Path(env["LAB_STATE_DIR"]) / "disks"
    assert not os.path.ismount(disks / "node-a") and not (disks / "node-a.ext4").exists()


def test_centos7_lab_without_a_local_image_says_so_and_fails():
    if docker.inspect("image", "centos:7") is not None:
        pytest.skip("this machine has a centos:7 image: the refusal cannot be shown here")
    run = lab_cli("up", LAB_OS="centos7", LAB_PREFIX=SPARE7, LAB_SUBNET=SPARE7_SUBNET)
    assert run.returncode == 2
    assert "LAB_OS=centos7 needs a local `centos:7` image, and this machine has none" in run.stderr
    assert docker.inspect("network", f"{SPARE7}-lab") is None
