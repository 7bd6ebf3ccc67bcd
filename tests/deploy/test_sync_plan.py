"""The sync phase on fresh CentOS 7 / EL 8 / EL 9 / Debian 12 nodes, from recorded facts: keys made on the node,
the peer's key bound to its address and to sync-serve, host keys pinned, paths per family."""

import pytest

from operations.phases import sync
from tests.deploy.harness import all_commands, find, run

def link_and_sync(run_context):
    """The node-to-node link (run right after the base phase), then the sync over it."""
    sync.link(run_context)
    sync.configure(run_context)


PEER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPeerSyncKeyForTestsOnly0000000000000000000 qmha-sync@node-b"
PEER_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPeerHostKeyForTestsOnly000000000000000000 root@node-b"


def test_each_node_makes_its_own_key_pair(tmp_path):
    ops = run(link_and_sync, "centos7", tmp_path)
    for node in ("node-a", "node-b"):
        keygen = find(ops[node], "sync key pair").text
        assert keygen == f"ssh-keygen -q -t ed25519 -N '' -C qmha-sync@{node} -f /etc/qm-ha/sync/id_ed25519"


def test_existing_key_pair_is_kept(tmp_path):
    stat = ("user=root group=root mode=-rw------- atime=1 mtime=1 ctime=1 size=411 "
            "'/etc/qm-ha/sync/id_ed25519'")
    ops = run(link_and_sync, "debian12", tmp_path, responses={"/etc/qm-ha/sync/id_ed25519 ||": stat})
    assert find(ops["node-a"], "sync key pair").commands == []


def test_peer_key_made_in_this_run_is_read_when_the_operation_runs(tmp_path):
    op = find(run(link_and_sync, "centos7", tmp_path)["node-a"], "peer's sync key may run sync-serve")
    assert op.commands[0].startswith("FunctionCommand(_write_from_peer")
    assert "'/etc/qm-ha/sync/id_ed25519.pub', '/var/lib/qm-ha/sync/.ssh/authorized_keys'" in op.commands[0]


def test_peer_key_is_bound_to_the_peer_address_and_sync_serve(tmp_path):
    ops = run(link_and_sync, "centos7", tmp_path, responses={"cat /etc/qm-ha/sync/id_ed25519.pub": PEER_KEY})
    upload = find(ops["node-a"], "peer's sync key may run sync-serve").text
    key = " ".join(PEER_KEY.split()[:2])
    assert (f'from="192.168.1.6",command="/usr/local/lib/qm-ha/sync-serve",restrict {key} qmha-sync@node-b'
            in upload)


def test_peer_host_key_is_pinned(tmp_path):
    ops = run(link_and_sync, "debian12", tmp_path,
              responses={"cat /etc/ssh/ssh_host_ed25519_key.pub": PEER_HOST_KEY})
    upload = find(ops["node-b"], "peer's host key is pinned").text
    assert "upload /etc/qm-ha/sync/known_hosts" in upload
    assert f"192.168.1.5 {' '.join(PEER_HOST_KEY.split()[:2])}" in upload


def test_script_never_skips_host_key_checking(tmp_path):
    script = find(run(link_and_sync, "debian12", tmp_path)["node-a"], "/usr/local/sbin/qmha-sync$").text
    assert "StrictHostKeyChecking=yes" in script
    assert "StrictHostKeyChecking=no" not in script


@pytest.mark.parametrize("os_key,webapps", [("centos7", "/var/lib/tomcat/webapps"),
                                            ("el9", "/var/lib/tomcat/webapps"),
                                            ("debian12", "/var/lib/tomcat10/webapps")])
def test_the_file_synced_is_the_webapps_configuration_properties(tmp_path, os_key, webapps):
    ops = run(link_and_sync, os_key, tmp_path)["node-a"]
    path = f"{webapps}/queuemetrics/WEB-INF/configuration.properties"
    assert f"FILE={path}" in find(ops, "/usr/local/sbin/qmha-sync$").text
    assert f"PathChanged={path}" in find(ops, "qmha-sync-poke.path$").text


@pytest.mark.parametrize("os_key", ["centos7", "el8"])
def test_loway_package_path_on_el(tmp_path, os_key):
    ops = run(link_and_sync, os_key, tmp_path, data={"qm_app_mode": "loway"})["node-a"]
    assert ("FILE=/usr/local/queuemetrics/tomcat/webapps/queuemetrics/WEB-INF/configuration.properties"
            in find(ops, "/usr/local/sbin/qmha-sync$").text)


def test_cron_runs_the_pull_every_minute(tmp_path):
    cron = find(run(link_and_sync, "centos7", tmp_path)["node-a"], "/etc/cron.d/qmha-sync").text
    assert "* * * * * root /usr/local/sbin/qmha-sync pull" in cron


@pytest.mark.parametrize("os_key,packages", [("centos7", "yum install -y openssh-clients util-linux"),
                                             ("el8", "dnf install -y openssh-clients util-linux"),
                                             ("el9", "dnf install -y openssh-clients util-linux"),
                                             ("debian12", "install openssh-client util-linux bsdutils")])
def test_sync_tools_per_family(tmp_path, os_key, packages):
    data = {"qm_app_mode": "loway"} if os_key == "el8" else None  # EL 8 packages no Tomcat of its own
    assert packages in all_commands(run(link_and_sync, os_key, tmp_path, data=data)["node-a"])


def test_the_peers_key_may_hand_a_rebuild_copy_only_to_the_root_receiver(tmp_path):
    ops = run(link_and_sync, "debian12", tmp_path)["node-a"]
    serve = find(ops, "/usr/local/lib/qm-ha/sync-serve$").text
    assert "rebuild-receive) exec sudo -n /usr/local/sbin/qmha-rebuild-receive ;;" in serve
    receive = find(ops, "/usr/local/sbin/qmha-rebuild-receive$").text
    assert "DIR=/var/lib/qm-ha/rebuild" in receive and '"0:0 700"' in receive and 'ls -A "$DIR"' in receive
    assert 'mbstream -x -C "$DIR"' in receive
    rule = find(ops, "may run the rebuild's receiving end as root").text
    assert 'qmsync ALL=(root) NOPASSWD: /usr/local/sbin/qmha-rebuild-receive ""' in rule
    assert "visudo -cqf" in rule
