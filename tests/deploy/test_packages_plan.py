"""The node's packages in one transaction, from recorded facts: one index refresh and one install
on Debian 12; on CentOS 7 everything at once, then nginx once EPEL is there."""

import re

from operations.phases import base
from operations.platform import PLATFORMS
from tests.deploy.harness import all_commands, run


def installs(commands, manager):
    return [c for c in commands if re.search(rf"\b{manager} .*install ", c)]


def test_debian12_installs_every_package_in_one_transaction_after_one_index_refresh(debian12):
    cmds = debian12["node-a"]
    assert len(installs(cmds, "apt-get")) == 1
    assert cmds.count("apt-get update") == 1
    assert cmds.index("apt-get update") < cmds.index(installs(cmds, "apt-get")[0])


def test_debian12_transaction_holds_every_tier(debian12):
    (install,) = installs(debian12["node-b"], "apt-get")
    for package in ("chrony", "mariadb-server", "tomcat10", "nginx", "nftables", "openssh-client"):
        assert f" {package}" in install


def test_el7_installs_everything_but_nginx_at_once_then_nginx_from_epel(el7):
    first, second = installs(el7["node-a"], "yum")
    assert "epel-release" in first and "mariadb-server" in first and "firewalld" in first and "nginx" not in first
    assert second == "yum install -y nginx"


def test_floating_addresses_put_keepalived_in_the_transaction(tmp_path):
    ops = run(base.configure, "debian12", tmp_path, data={"qm_floating_addresses": ["192.168.1.21", "192.168.1.22"]})
    (install,) = installs(all_commands(ops["node-a"]).splitlines(), "apt-get")
    assert " keepalived" in install


def test_a_phase_whose_packages_are_in_the_transaction_installs_nothing_more(debian12):
    cmds = debian12["node-a"]
    assert not any("apt-get" in c and "install" in c and "nginx" in c and "chrony" not in c for c in cmds)


def test_debian12_transaction_does_not_start_the_services_the_deploy_configures_first(debian12):
    (install,) = installs(debian12["node-a"], "apt-get")
    before, _, apt = install.partition("apt-get")
    assert "/usr/sbin/policy-rc.d" in before and "trap 'rm -f \"$P\"' EXIT" in before
    held = before.split("case")[1]
    for unit in ("tomcat10.service", "nginx.service", "chrony.service"):
        assert unit in held
    assert "ssh" not in held  # a unit the deploy does not configure first starts as usual
    assert "mariadb" not in held  # the replication plan reads a running server
    assert "apt-get update" in debian12["node-a"]  # the index refresh is not held


def test_el7_transaction_holds_nothing(el7):
    assert not any("policy-rc.d" in c for c in el7["node-a"])


def test_held_units_name_each_unit_both_ways_and_keepalived_only_with_floating_addresses():
    p = PLATFORMS["debian12"]
    held = base.held_units(p, p.tomcat, False)
    assert {"tomcat10", "tomcat10.service", "nginx", "nginx.service", "chrony", "chrony.service"} <= set(held)
    assert not any(unit.startswith("mariadb") for unit in held)
    assert "keepalived.service" not in held
    assert "keepalived.service" in base.held_units(p, p.tomcat, True)
