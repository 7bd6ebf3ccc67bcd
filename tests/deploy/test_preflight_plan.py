"""Preflight refuses a node that misses a requirement, naming host, requirement and fix, before any operation."""

import re

import pytest

from operations.phases.preflight import PreflightError
from tests.deploy.harness import load_fixture, plan, set_response


def refused(fixture, tmp_path, **data) -> str:
    with pytest.raises(PreflightError) as info:
        plan(fixture, tmp_path, **data)
    return str(info.value)


@pytest.fixture
def el7():
    return load_fixture("el7")


def test_healthy_el7_nodes_pass(el7, tmp_path):
    assert plan(el7, tmp_path)["node-a"]


def test_unsupported_os_is_refused(el7, tmp_path):
    debian11 = load_fixture("debian12")["hosts"]["node-a"]["responses"][0][1].replace(
        'VERSION_ID="12"', 'VERSION_ID="11"').replace("12 (bookworm)", "11 (bullseye)")
    message = refused(set_response(el7, "node-b", "-release", debian11), tmp_path)
    assert "@fake/node-b: supported OS: Debian 11 is not supported" in message
    assert "nothing was changed" in message


def test_non_root_user_without_sudo_is_refused(el7, tmp_path):
    message = refused(set_response(el7, "node-a", "echo $USER", "qm"), tmp_path)
    assert "@fake/node-a: root access" in message
    assert "_sudo=True" in message


def test_address_not_on_eth0_is_refused(el7, tmp_path):
    fixture = load_fixture("el7")
    fixture["hosts"]["node-a"]["responses"][2][1] = fixture["hosts"]["node-a"]["responses"][2][1].replace("eth0", "ens3")
    message = refused(fixture, tmp_path)
    assert "@fake/node-a: address on eth0: 192.168.1.5 is not on eth0 (it is on ens3)" in message
    assert "qm_interface" in message


def test_lvm_root_is_refused_and_flag_makes_it_a_warning(el7, tmp_path):
    lvm = "/ /dev/mapper/centos-root xfs\n/boot /dev/vda1 xfs\n-- swaps\n/dev/dm-1 partition 2097148 0 -2"
    broken = set_response(el7, "node-a", "findmnt -rn", lvm)
    message = refused(broken, tmp_path)
    assert "root filesystem is xfs, not ext4" in message
    assert "root is on LVM (/dev/mapper/centos-root)" in message
    assert "other partitions are mounted: /boot" in message
    assert "swap partitions: /dev/dm-1" in message
    assert plan(broken, tmp_path, qm_strict_disk_layout=False)["node-a"]


def test_unreachable_peer_is_refused(el7, tmp_path):
    message = refused(set_response(el7, "node-b", "/dev/tcp/", "closed"), tmp_path)
    assert "@fake/node-b: peer reachable: cannot open TCP 192.168.1.5:22" in message


def test_cluster_name_resolving_to_one_node_is_refused(el7, tmp_path):
    message = refused(set_response(el7, "node-a", "getent ahostsv4 queuemetrics.mycompany.com ", "192.168.1.5"),
                      tmp_path)
    assert "queuemetrics.mycompany.com resolves: resolves to ['192.168.1.5'], not ['192.168.1.5', '192.168.1.6']" in message


def test_unresolvable_node_name_is_refused(el7, tmp_path):
    message = refused(set_response(el7, "node-b", "getent ahostsv4 node-a.mycompany.com ", ""), tmp_path)
    assert "@fake/node-b: node-a.mycompany.com resolves: resolves to nothing" in message


def test_too_little_room_for_the_database_is_refused(el7, tmp_path):
    message = refused(set_response(el7, "node-b", "df --output=avail -B1M", "150"), tmp_path)
    assert "node-b: free space for the database: 150 MiB free where MariaDB keeps its data (/var/lib/mysql)" in message
    assert "lower qm_db_min_free_mb (0 turns this guard off)" in message and "node-a: free space" not in message


def test_clock_skew_is_refused(el7, tmp_path):
    message = refused(set_response(el7, "node-b", "date +%s.%N", "1795611609.900"), tmp_path)
    assert re.search(r"clocks agree: the nodes' clocks differ by 9\.\d s \(limit 2 s\)", message)


def test_every_problem_is_reported_at_once(el7, tmp_path):
    broken = set_response(set_response(el7, "node-a", "echo $USER", "qm"), "node-b", "/dev/tcp/", "closed")
    message = refused(broken, tmp_path)
    assert "preflight found 2 problem(s)" in message


def test_missing_customer_certificate_is_refused_with_one_fix(el7, tmp_path):
    message = refused(el7, tmp_path, qm_tls_cert=str(tmp_path / "missing.pem"), qm_tls_key=str(tmp_path / "k.pem"))
    assert f"control machine: TLS certificate: {tmp_path / 'missing.pem'}: certificate file not found. Fix: " in message
    assert message.count("Fix:") == 1


def ec_material(tmp_path, key_factory):
    """A customer CA and server certificate for the el7 fixture's names, with keys from KEY_FACTORY."""
    from tests.unit.test_certificates import make_cert, write_cert, write_key

    ca_key, key = key_factory(), key_factory()
    ca = make_cert(ca_key, "Customer CA", ca=True)
    cert = make_cert(key, "queuemetrics.mycompany.com", issuer=ca, issuer_key=ca_key,
                     dns=["queuemetrics.mycompany.com", "node-a.mycompany.com", "node-b.mycompany.com"],
                     ips=["192.168.1.5", "192.168.1.6"])
    return {"qm_tls_cert": str(write_cert(tmp_path / "cert.pem", cert)),
            "qm_tls_key": str(write_key(tmp_path / "key.pem", key)),
            "qm_tls_ca": str(write_cert(tmp_path / "ca.pem", ca))}


def test_ecdsa_certificate_on_mariadb_55_is_warned_about(el7, tmp_path, caplog):
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    caplog.set_level("WARNING")
    assert plan(el7, tmp_path / "a", **ec_material(tmp_path, lambda: ec.generate_private_key(ec.SECP256R1())))
    warned = [r.getMessage() for r in caplog.records if "a certificate MariaDB can serve" in r.getMessage()]
    assert len(warned) == 2 and "has an ECDSA key, which MariaDB 5.5 cannot present" in warned[0]
    caplog.clear()
    assert plan(el7, tmp_path / "b", **ec_material(tmp_path, lambda: rsa.generate_private_key(65537, 2048)))
    assert not [r for r in caplog.records if "a certificate MariaDB can serve" in r.getMessage()]


@pytest.mark.parametrize("knob, value, problem", [
    ("qm_firewall_ssh_sources", "203.0.113.7/32", "'203.0.113.7/32' is not a list"),
    ("qm_firewall_ssh_sources", ["203.0.113.0/33"], "is not an address or network"),
    ("qm_tomcat_https_port", 0, "0 is out of range"),
    ("qm_app_war", "/nonexistent/queuemetrics.war", "is not a file or directory on this machine"),
    ("qm_app_mode", "jboss", "'jboss' is not one of standin, war, loway"),
    ("qm_sync_min_keep_percent", 150, "150 is out of range"),
], ids=["string-for-list", "not-a-network", "port-out-of-range", "missing-file", "unknown-mode", "percent"])
def test_a_malformed_knob_is_refused_for_both_nodes_before_any_operation(el7, tmp_path, knob, value, problem):
    message = refused(el7, tmp_path, **{knob: value})
    assert f"@fake/node-a and @fake/node-b: {knob}: " in message and problem in message
    assert "Fix: " in message and "nothing was changed on any node" in message


def test_a_node_whose_os_cannot_have_the_mode_is_refused(tmp_path):
    message = refused(load_fixture("debian12"), tmp_path, qm_app_mode="loway")
    assert "@fake/node-a: qm_app_mode: qm_app_mode 'loway' needs Loway's yum package, which Debian 12 cannot install" \
        in message
    assert "Fix: use 'war' with a QueueMetrics WAR instead" in message


def test_the_stand_in_is_refused_on_an_inventory_that_is_not_the_lab(el7, tmp_path):
    message = refused(el7, tmp_path, qm_lab=False)
    assert "@fake/node-a: qm_app_mode: 'standin' is the lab's stand-in webapp, not QueueMetrics" in message
    assert "Fix: set qm_app_mode = 'war' (with qm_app_war" in message


def test_an_inventory_that_states_no_mode_is_refused(el7, tmp_path):
    message = refused(el7, tmp_path, qm_app_mode=None)
    assert "qm_app_mode: it is not set. Fix: set it, e.g. 'war' (with qm_app_war) or 'loway'" in message


def test_the_customer_example_states_a_mode_that_is_queuemetrics():
    from drill.hosts import inventory_hosts
    from operations import knobs
    from tests.deploy.harness import REPO

    for h in inventory_hosts(REPO / "inventories/customer.py"):
        k = knobs.read(h.name, h.data)
        assert k.qm_app_mode in ("war", "loway") and not k.qm_lab


def bought_material(tmp_path, dns):
    """A certificate as a CA sells it: DNS names only, no IP entries."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    from tests.unit.test_certificates import make_cert, write_cert, write_key

    ca_key, key = rsa.generate_private_key(65537, 2048), rsa.generate_private_key(65537, 2048)
    ca = make_cert(ca_key, "Customer CA", ca=True)
    cert = make_cert(key, dns[0], issuer=ca, issuer_key=ca_key, dns=dns)
    return {"qm_tls_cert": str(write_cert(tmp_path / "cert.pem", cert)),
            "qm_tls_key": str(write_key(tmp_path / "key.pem", key)),
            "qm_tls_ca": str(write_cert(tmp_path / "ca.pem", ca))}


def test_a_bought_certificate_naming_the_cluster_and_node_fqdns_only_is_accepted(el7, tmp_path):
    names = ["queuemetrics.mycompany.com", "node-a.mycompany.com", "node-b.mycompany.com"]
    assert plan(el7, tmp_path / "run", **bought_material(tmp_path, names))["node-a"]


def test_a_wildcard_certificate_over_the_names_is_accepted(el7, tmp_path):
    assert plan(el7, tmp_path / "run", **bought_material(tmp_path, ["*.mycompany.com"]))["node-a"]


def test_a_certificate_missing_a_node_fqdn_is_refused(el7, tmp_path):
    message = refused(el7, tmp_path / "run", **bought_material(tmp_path, ["queuemetrics.mycompany.com",
                                                                          "node-a.mycompany.com"]))
    assert "does not cover node-b.mycompany.com. Fix: have the certificate reissued" in message
    assert "192.168.1" not in message.split("does not cover")[1].split(".")[0]


def test_mariadb_55_without_semi_sync_is_warned_about_when_it_is_asked_for(el7, tmp_path, caplog):
    caplog.set_level("WARNING")
    assert plan(el7, tmp_path / "a", qm_db_semi_sync=True)
    warned = [r.getMessage() for r in caplog.records if "semi-synchronous replication" in r.getMessage()]
    assert len(warned) == 2 and "MariaDB 5.5 has none" in warned[0] and "Fix:" in warned[0]
    caplog.clear()
    assert plan(el7, tmp_path / "b")
    assert not [r for r in caplog.records if "semi-synchronous replication" in r.getMessage()]


def test_semi_sync_asked_for_on_a_server_that_has_it_is_warned_about_with_the_measured_hang(tmp_path, caplog):
    caplog.set_level("WARNING")
    assert plan(load_fixture("debian12"), tmp_path / "a", qm_db_semi_sync=True)
    warned = [r.getMessage() for r in caplog.records if "semi-synchronous replication" in r.getMessage()]
    assert len(warned) == 2 and "hung the lab's node after a silent partition" in warned[0]
    caplog.clear()
    assert plan(load_fixture("debian12"), tmp_path / "b")
    assert not [r for r in caplog.records if "semi-synchronous replication" in r.getMessage()]


# ---------------------------------------------------------------- floating addresses

FLOATING = ["192.168.1.21", "192.168.1.22"]


def with_floating_dns(fixture):
    for node in ("node-a", "node-b"):
        fixture = set_response(fixture, node, "getent ahostsv4 queuemetrics.mycompany.com ", "\n".join(FLOATING))
    return fixture


def test_floating_addresses_free_on_the_subnet_with_the_name_on_them_pass(el7, tmp_path):
    commands = plan(with_floating_dns(el7), tmp_path, qm_floating_addresses=FLOATING)
    assert any("keepalived" in c for c in commands["node-a"])


def test_floating_mode_wants_the_cluster_name_on_the_floating_addresses(el7, tmp_path):
    message = refused(el7, tmp_path, qm_floating_addresses=FLOATING)
    assert "queuemetrics.mycompany.com resolves: resolves to ['192.168.1.5', '192.168.1.6'], not " \
           "['192.168.1.21', '192.168.1.22']" in message


def test_a_floating_address_off_the_subnet_is_refused(el7, tmp_path):
    message = refused(with_floating_dns(el7), tmp_path, qm_floating_addresses=["192.168.1.21", "10.9.9.9"])
    assert "node-a: floating addresses on the node's subnet: 10.9.9.9 is not in 192.168.1.0/24 (eth0)" in message


def test_a_floating_address_another_host_answers_for_is_refused(el7, tmp_path):
    taken = set_response(with_floating_dns(el7), "node-b", "ip neigh show 192.168.1.22",
                         "192.168.1.22 dev eth0 lladdr 52:54:00:12:34:56 REACHABLE")
    message = refused(taken, tmp_path, qm_floating_addresses=FLOATING)
    assert "node-b: floating addresses free: 192.168.1.22 is already in use on 192.168.1.0/24" in message


def test_one_floating_address_alone_is_refused_before_any_connection(el7, tmp_path):
    message = refused(el7, tmp_path, qm_floating_addresses=["192.168.1.21"])
    assert "qm_floating_addresses" in message and "not 2" in message


# ---------------------------------------------------------------- package sources (CentOS 7 after its end of life)

def test_a_node_whose_repositories_answer_nothing_is_told_to_use_the_vault(el7, tmp_path):
    message = refused(set_response(el7, "node-a", "yum -q makecache fast", "no"), tmp_path)
    assert "node-a: package source: the package manager reaches no repository" in message
    assert "set qm_package_mirror = 'https://vault.centos.org/7.9.2009' (the vault) or a local mirror, and " \
           "qm_epel_mirror = 'https://archives.fedoraproject.org/pub/archive/epel/7'" in message


def test_a_mirror_the_node_cannot_fetch_is_refused_naming_the_url(el7, tmp_path):
    broken = set_response(el7, "node-b", "curl -sfI --max-time 20 -o /dev/null https://mirror.example.com/c7", "no")
    message = refused(broken, tmp_path, qm_package_mirror="https://mirror.example.com/c7")
    assert ("node-b: package source: the node cannot fetch "
            "https://mirror.example.com/c7/os/x86_64/repodata/repomd.xml (qm_package_mirror)") in message
    assert "node-a: package source" not in message


def test_a_mirror_knob_on_a_platform_whose_repositories_the_deploy_leaves_alone_is_refused(tmp_path):
    from tests.deploy.harness import fixture_for

    message = refused(fixture_for("debian12"), tmp_path, qm_package_mirror="https://deb.example.com/debian")
    assert "qm_package_mirror is set, but the deploy leaves Debian 12's repositories as the node has them" in message


def test_a_hop_port_selinux_keeps_nginx_off_is_refused_with_the_ports_it_allows(el7, tmp_path):
    message = refused(el7, tmp_path, qm_web_peer_hop_port=8081)
    assert "@fake/node-a: qm_web_peer_hop_port: SELinux does not let nginx listen on port 8081" in message
    assert "8008" in message and "semanage port -a -t http_port_t -p tcp 8081" in message


def test_the_same_hop_port_passes_where_selinux_is_disabled(el7, tmp_path):
    disabled = set_response(set_response(el7, "node-a", "getenforce", "Disabled"), "node-b", "getenforce", "Disabled")
    assert plan(disabled, tmp_path, qm_web_peer_hop_port=8081)["node-a"]
