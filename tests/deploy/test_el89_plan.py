"""The whole deploy planned on fresh EL 8 and EL 9 nodes (Rocky, AlmaLinux, RHEL, CentOS Stream).

Each release's nodes are the CentOS 7 nodes' recorded facts with that release's ``/etc/*-release``
files (``fixtures/el_releases.json``), read by pyinfra's own ``LinuxDistribution`` fact. EL 8 packages
no Tomcat, so its plans use Loway's package (``loway`` mode); EL 9's use the distribution's Tomcat 9.
"""

import pytest
from pyinfra.facts.server import LinuxDistribution

from operations.phases.preflight import PreflightError
from operations.platform import PLATFORMS, for_distribution, supported_text
from tests.deploy.harness import el_releases, plan, release_fixture, release_output, set_response

RELEASES = el_releases()
EL8 = [name for name, r in RELEASES.items() if r["row"] == "el8"]
EL9 = [name for name, r in RELEASES.items() if r["row"] == "el9"]
#: the install mode each row's plans use (EL 8 has no Tomcat of its own)
MODE = {"el8": "loway", "el9": "standin"}



def dnf_installed(commands) -> set[str]:
    """Every package a ``dnf install`` of the plan names (the node's one transaction and the few after it)."""
    return {word for c in commands if c.startswith("dnf install -y ") for word in c.split()[3:]}

def row_of(release: str):
    return PLATFORMS[RELEASES[release]["row"]]


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    """release -> node-a's commands of the whole deploy (password login off, to plan sshd too), made once."""
    made = {}

    def get(release: str) -> list[str]:
        if release not in made:
            made[release] = plan(release_fixture(release), tmp_path_factory.mktemp(release),
                                 qm_app_mode=MODE[row_of(release).key], qm_ssh_password_login=False)["node-a"]
        return made[release]
    return get


def refused(fixture, tmp_path, **data) -> str:
    with pytest.raises(PreflightError) as info:
        plan(fixture, tmp_path, **data)
    return str(info.value)


def text(commands: list[str]) -> str:
    return "\n".join(commands)


# ---------------------------------------------------------------- which row

@pytest.mark.parametrize("release", EL8 + EL9)
def test_each_release_is_read_as_its_row(release):
    distro = LinuxDistribution().process(release_output(RELEASES[release]["files"]).splitlines())
    assert for_distribution(distro).key == RELEASES[release]["row"]


def test_a_later_release_is_refused_naming_the_supported_ones_family_by_family(tmp_path):
    assert RELEASES["rocky10"]["row"] is None
    message = refused(release_fixture("rocky10"), tmp_path, qm_app_mode="loway")
    assert f"@fake/node-a: supported OS: Rocky Linux 10 is not supported (supported: {supported_text()})" in message
    assert "EL: CentOS/RHEL 7, Rocky/AlmaLinux/RHEL/CentOS Stream 8, Rocky/AlmaLinux/RHEL/CentOS Stream 9; Debian:" \
        in message
    assert "install one of the supported releases on this node" in message


# ---------------------------------------------------------------- packages

@pytest.mark.parametrize("release", EL8 + EL9)
def test_packages_are_installed_by_dnf_never_yum(plans, release):
    commands = plans(release)
    assert {"chrony", "rsync", "cronie", "openssh-server"} <= dnf_installed(commands)
    assert not [c for c in commands if c.startswith("yum ")]


@pytest.mark.parametrize("release", EL8 + EL9)
def test_mariadb_comes_from_appstream_with_its_hot_backup_package(plans, release):
    assert {"mariadb-server", "mariadb", "mariadb-backup"} <= dnf_installed(plans(release))


@pytest.mark.parametrize("release", EL8 + EL9)
def test_nginx_comes_from_appstream_without_epel(plans, release):
    commands = plans(release)
    assert "nginx" in dnf_installed(commands)
    assert "epel" not in text(commands)


@pytest.mark.parametrize("release", EL8)
def test_el8_root_logs_in_by_password_with_the_mysql_named_tools(plans, release):
    all_text = text(plans(release))
    assert "install -m 0600 -o root -g root /var/lib/qm-ha/staging/.my.cnf.new /root/.my.cnf" in all_text
    assert "mysql < /var/lib/qm-ha/sql/accounts.sql" in all_text
    assert "errors=$(mysqldump --single-transaction" in all_text


@pytest.mark.parametrize("release", EL9)
def test_el9_root_logs_in_by_its_unix_socket_with_the_mariadb_named_tools(plans, release):
    all_text = text(plans(release))
    assert "/root/.my.cnf" not in all_text
    assert "mariadb < /var/lib/qm-ha/sql/accounts.sql" in all_text
    assert "errors=$(mariadb-dump --single-transaction" in all_text


# ---------------------------------------------------------------- Tomcat

@pytest.mark.parametrize("release", EL8)
@pytest.mark.parametrize("mode", ["war", "standin"])
def test_el8_refuses_the_distributions_tomcat_naming_loway_mode_and_the_releases_that_have_one(
        release, mode, tmp_path):
    war = tmp_path / "queuemetrics"
    (war / "WEB-INF").mkdir(parents=True)
    (war / "WEB-INF" / "web.xml").write_text("<web-app/>")
    message = refused(release_fixture(release), tmp_path, qm_app_mode=mode, qm_app_war=str(war))
    assert (f"@fake/node-a: qm_app_mode: qm_app_mode '{mode}' runs the webapp in the distribution's Tomcat, and "
            "Rocky/AlmaLinux/RHEL/CentOS Stream 8 packages none. Fix: set qm_app_mode = 'loway' (Loway's package "
            "brings its own Tomcat), or install a release that has one (CentOS/RHEL 7, "
            "Rocky/AlmaLinux/RHEL/CentOS Stream 9, Debian 12") in message
    assert "nothing was changed on any node" in message


@pytest.mark.parametrize("release", EL8)
def test_el8_in_loway_mode_runs_loways_package_and_its_own_tomcat(plans, release):
    commands = plans(release)
    assert "dnf install -y queuemetrics" in commands
    assert "/usr/local/queuemetrics/tomcat/conf/server.xml" in text(commands)
    assert "tomcat" not in dnf_installed(commands)


@pytest.mark.parametrize("release", EL9)
def test_el9_runs_appstreams_tomcat_9_with_an_sslhostconfig_connector(plans, release):
    commands = plans(release)
    assert {"tomcat", "mariadb-java-client"} <= dnf_installed(commands)
    server_xml = next(c for c in commands if c.startswith("upload /var/lib/qm-ha/staging/server.xml"))
    assert "<SSLHostConfig protocols=\"TLSv1.2+TLSv1.3\">" in server_xml and "keystoreFile=" not in server_xml
    assert 'appBase="/var/lib/tomcat/webapps"' in server_xml
    assert any(c.endswith(" /etc/tomcat/server.xml; rc=$?; rm -f /var/lib/qm-ha/staging/server.xml.new; exit $rc")
               for c in commands)


# ---------------------------------------------------------------- base: sshd, chrony

@pytest.mark.parametrize("release", EL9)
def test_el9_sets_sshd_password_login_in_a_drop_in(plans, release):
    commands = plans(release)
    drop_in = next(c for c in commands if c.startswith("upload /etc/ssh/sshd_config.d/01-qmha.conf"))
    assert "PasswordAuthentication no" in drop_in
    assert not [c for c in commands if "/etc/ssh/sshd_config\n" in c or c.endswith("/etc/ssh/sshd_config")]


@pytest.mark.parametrize("release", EL8)
def test_el8_sets_sshd_password_login_in_sshd_config_itself(plans, release):
    commands = plans(release)
    assert "echo 'PasswordAuthentication no' >> /etc/ssh/sshd_config" in commands
    assert "sshd_config.d" not in text(commands)


@pytest.mark.parametrize("release,options", [(r, '""') for r in EL8] + [(r, '"-F 2"') for r in EL9])
def test_chronyd_keeps_the_releases_own_options(plans, release, options):
    upload = next(c for c in plans(release) if c.startswith("upload /etc/sysconfig/chronyd"))
    assert f"OPTIONS={options}" in upload


# ---------------------------------------------------------------- firewall, SELinux

@pytest.mark.parametrize("release", EL8 + EL9)
def test_the_firewall_is_a_firewalld_zone_of_the_projects_own(plans, release):
    commands = plans(release)
    assert "firewalld" in dnf_installed(commands)
    assert "firewall-cmd --set-default-zone=qmha" in commands
    assert "nft " not in text(commands)


@pytest.mark.parametrize("release", EL8 + EL9)
def test_selinux_stays_enforcing_with_the_booleans_and_labels_the_cluster_needs(plans, release):
    commands = plans(release)
    assert "policycoreutils-python-utils" in dnf_installed(commands)
    assert "setsebool -P httpd_can_network_connect=on tomcat_can_network_connect_db=on" in commands
    assert "semanage fcontext -a -t ssh_home_t '/var/lib/qm-ha/sync/.ssh(/.*)?'" in commands
    assert "setenforce" not in text(commands)


# ---------------------------------------------------------------- package sources

@pytest.mark.parametrize("release", ["rocky8", "rhel9", "stream9"])
@pytest.mark.parametrize("knob", ["qm_package_mirror", "qm_epel_mirror"])
def test_a_mirror_knob_is_refused_on_el8_and_el9(release, knob, tmp_path):
    label = row_of(release).label
    message = refused(release_fixture(release), tmp_path, qm_app_mode=MODE[row_of(release).key],
                      **{knob: "https://mirror.example.com/el"})
    assert (f"@fake/node-a: package source: {knob} is set, but the deploy leaves {label}'s repositories as the "
            "node has them (their repository files differ per rebuild, and RHEL's come from its subscription). "
            f"Fix: unset {knob}: use the node's own repositories or a local mirror configured on the node") in message
    assert "mirror.example.com/el/" not in message  # nothing fetched from a mirror the deploy would not use


@pytest.mark.parametrize("release", ["alma8", "rhel9"])
def test_repositories_that_answer_nothing_are_refused_after_dnf_makecache(release, tmp_path):
    broken = set_response(release_fixture(release), "node-b", "timeout 120 dnf -q makecache", "no")
    message = refused(broken, tmp_path, qm_app_mode=MODE[row_of(release).key])
    assert ("@fake/node-b: package source: the package manager reaches no repository "
            "(`timeout 120 dnf -q makecache` failed). Fix: use the node's own repositories or a local mirror "
            "configured on the node (RHEL: an active subscription, `subscription-manager status`)") in message
    assert "@fake/node-a: package source" not in message and "vault" not in message



@pytest.mark.parametrize("release", ["rocky8", "stream9"])
def test_packages_rpm_already_has_are_not_installed_again(release, tmp_path):
    installed = "mariadb-server 10.5.22-1.el9\nmariadb 10.5.22-1.el9\nmariadb-backup 10.5.22-1.el9"
    fixture = set_response(release_fixture(release), "node-a", "rpm --queryformat", installed)
    commands = plan(fixture, tmp_path, qm_app_mode=MODE[row_of(release).key])["node-a"]
    assert "mariadb-server" not in dnf_installed(commands)
    assert "nginx" in dnf_installed(commands)  # what rpm lacks is still installed
