"""Debian 13 (trixie) nodes, from facts recorded on the lab's trixie nodes: they get the deploy a
Debian 12 node gets (trixie ships the same package names, units and paths; its MariaDB is 11.8)."""

import re

from operations.platform import PLATFORMS


def installs(commands):
    return [re.sub(r".* install ", "", c) for c in commands if "apt-get" in c and " install " in c]


def enabled_units(commands):
    steps = [step for c in commands for step in c.split(" && ")]
    return {s.split()[-1] for s in steps if s.startswith("systemctl enable ")}


def test_debian13_installs_what_debian12_installs_with_apt(debian12, debian13):
    assert installs(debian13["node-a"]) == installs(debian12["node-a"])
    (transaction,) = installs(debian13["node-a"])  # the node's one package transaction
    assert "mariadb-server mariadb-client" in transaction
    assert not any(c.startswith("yum") for c in debian13["node-a"])


def test_debian13_enables_the_units_debian12_enables(debian12, debian13):
    assert enabled_units(debian13["node-b"]) == enabled_units(debian12["node-b"])
    assert "tomcat10.service" in enabled_units(debian13["node-b"])


def test_debian13_channel_verifies_the_peer_certificate_against_the_cluster_ca(debian13):
    # MariaDB 11.4+ verifies by default; the deploy says so itself, with the CA to verify against
    change = next(c for c in debian13["node-a"] if "CHANGE MASTER TO" in c)
    assert "MASTER_SSL = 1" in change and "MASTER_SSL_VERIFY_SERVER_CERT = 1" in change
    assert "MASTER_SSL_CA = '/etc/qm-ha/tls/ca.crt'" in change


def test_debian13_tomcat_is_jakarta_with_the_debian_paths(debian13):
    tomcat = PLATFORMS["debian13"].tomcat
    assert (tomcat.service, tomcat.servlet_api, tomcat.webapps_dir) == ("tomcat10", "jakarta", "/var/lib/tomcat10/webapps")
    assert any(c.startswith("upload /etc/tomcat10/server.xml") or "/etc/tomcat10/server.xml" in c
               for c in debian13["node-a"])
