"""SELinux on CentOS 7 (enforcing on a fresh install): nginx may reach Tomcat, Tomcat the databases,
sshd the sync user's keys; nothing is switched off, and nodes without SELinux are left alone."""

from tests.deploy.harness import load_fixture, plan, set_response

SYNC_SSH = "/var/lib/qm-ha/sync/.ssh"


def test_el7_turns_on_the_booleans_the_connections_need(el7):
    assert "setsebool -P httpd_can_network_connect=on tomcat_can_network_connect_db=on" in el7["node-a"]


def test_el7_installs_semanage_before_using_it(el7):
    cmds = el7["node-a"]
    install = next(i for i, c in enumerate(cmds) if c.startswith("yum install -y ") and " policycoreutils-python" in c)
    mapping = cmds.index(f"semanage fcontext -a -t ssh_home_t '{SYNC_SSH}(/.*)?'")
    assert install < mapping


def test_el7_labels_the_sync_users_keys_as_a_home_ssh_folder(tmp_path):
    wrong = f"Would relabel {SYNC_SSH}/authorized_keys from system_u:object_r:var_lib_t:s0 to system_u:object_r:ssh_home_t:s0"
    cmds = plan(set_response(load_fixture("el7"), "node-a", f"restorecon -Rnv {SYNC_SSH}", wrong), tmp_path)["node-a"]
    assert f"restorecon -R {SYNC_SSH}" in cmds


def test_el7_labels_already_right_change_nothing(el7):
    assert not any(c.startswith("restorecon") for c in el7["node-a"])


def test_el7_booleans_already_on_change_nothing(tmp_path):
    on = "httpd_can_network_connect --> on\ntomcat_can_network_connect_db --> on"
    cmds = plan(set_response(load_fixture("el7"), "node-a", "getsebool -a", on), tmp_path)["node-a"]
    assert not any(c.startswith("setsebool") for c in cmds)


def test_a_boolean_the_policy_lacks_is_skipped(tmp_path):
    older = "httpd_can_network_connect --> off"  # a policy from before Tomcat had its own domain
    cmds = plan(set_response(load_fixture("el7"), "node-a", "getsebool -a", older), tmp_path)["node-a"]
    assert "setsebool -P httpd_can_network_connect=on" in cmds


def test_el7_with_selinux_disabled_is_left_alone(tmp_path):
    cmds = plan(set_response(load_fixture("el7"), "node-a", "getenforce", "Disabled"), tmp_path)["node-a"]
    assert not any(c.startswith(("setsebool", "semanage", "restorecon")) for c in cmds)
    assert "yum install -y policycoreutils-python" not in cmds


def test_debian12_has_no_selinux_phase(debian12):
    assert not any(c.startswith(("setsebool", "semanage", "restorecon", "getenforce")) for c in debian12["node-a"])


def test_mislabeled_files_are_read_from_either_restorecon_wording():
    from operations.facts.selinux import Mislabeled

    el7 = f"restorecon reset {SYNC_SSH}/authorized_keys context system_u:object_r:var_lib_t:s0->system_u:object_r:ssh_home_t:s0"
    newer = f"Would relabel {SYNC_SSH}/authorized_keys from system_u:object_r:var_lib_t:s0 to system_u:object_r:ssh_home_t:s0"
    assert Mislabeled().process([el7]) == [el7]
    assert Mislabeled().process([newer]) == [newer]
    assert Mislabeled().process(["restorecon: Warning no default label for /tmp/x", ""]) == []
