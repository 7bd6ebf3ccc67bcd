"""What the deploy would run on fresh CentOS 7 and Debian 12 nodes, from recorded facts (no Docker)."""


from tests.deploy.harness import load_fixture, plan


def joined(commands):
    return "\n".join(commands)


def test_el7_installs_base_packages_with_yum(el7):
    assert any(c.startswith("yum install -y chrony rsync cronie openssh-server ") for c in el7["node-a"])


def test_debian12_installs_base_packages_with_apt_after_refreshing_lists(debian12):
    cmds = debian12["node-a"]
    install = next(i for i, c in enumerate(cmds) if "apt-get" in c and " install chrony rsync cron openssh-server" in c)
    assert any(c == "apt-get update" for c in cmds[:install])
    assert not any(c.startswith("yum") for c in cmds)


def test_el7_services_use_el_unit_names(el7):
    text = joined(el7["node-a"])
    for unit in ("chronyd", "crond", "sshd"):
        assert f"systemctl enable {unit}.service" in text
    assert "chrony.service" not in text


def test_debian12_services_use_debian_unit_names(debian12):
    text = joined(debian12["node-b"])
    for unit in ("chrony", "cron", "ssh"):
        assert f"systemctl enable {unit}.service" in text


def test_el7_chrony_options_live_in_sysconfig_without_clock_override(el7):
    upload = next(c for c in el7["node-a"] if c.startswith("upload /etc/sysconfig/chronyd"))
    assert 'OPTIONS=""' in upload


def test_container_node_runs_chrony_without_clock_control(debian12):
    text = joined(debian12["node-a"])
    assert 'DAEMON_OPTS="-F 1 -x"' in text
    assert "upload /etc/systemd/system/chrony.service.d/qmha-container.conf" in text


def test_real_server_gets_no_container_override(el7):
    assert "qmha-container.conf" not in joined(el7["node-a"])


def test_distribution_chrony_conf_is_kept_unless_servers_are_given(el7, tmp_path):
    assert "/etc/chrony.conf" not in joined(el7["node-a"])
    with_servers = plan(load_fixture("el7"), tmp_path, qm_ntp_servers=["ntp1.mycompany.com"])
    upload = next(c for c in with_servers["node-a"] if c.startswith("upload /etc/chrony.conf"))
    assert "server ntp1.mycompany.com iburst" in upload
    assert "driftfile /var/lib/chrony/drift" in upload


def test_hosts_file_names_both_nodes_on_each_node(el7):
    for node in ("node-a", "node-b"):
        text = joined(el7[node])
        assert "192.168.1.5 node-a.mycompany.com node-a" in text
        assert "192.168.1.6 node-b.mycompany.com node-b" in text


def test_hostname_is_the_short_node_name(el7):
    assert "hostnamectl set-hostname node-a" in el7["node-a"]
    assert "hostnamectl set-hostname node-b" in el7["node-b"]


def test_tls_key_is_group_readable_only(el7):
    cmds = el7["node-a"]
    key_upload = next(i for i, c in enumerate(cmds) if c.startswith("upload /etc/qm-ha/tls/cluster.key"))
    after = " && ".join(cmds[key_upload + 1:key_upload + 3]).split(" && ")
    assert "chmod 640 /etc/qm-ha/tls/cluster.key" in after
    assert "chown root:qmha-tls /etc/qm-ha/tls/cluster.key" in after


def test_password_login_is_left_alone_by_default(el7):
    assert "PasswordAuthentication" not in joined(el7["node-a"])


def test_password_login_off_on_el7_edits_sshd_config_and_checks_before_reload(tmp_path):
    cmds = plan(load_fixture("el7"), tmp_path, qm_ssh_password_login=False)["node-a"]
    text = joined(cmds)
    assert "PasswordAuthentication no" in text
    assert "/etc/ssh/sshd_config" in text
    assert cmds.index("sshd -t") < cmds.index("systemctl reload sshd")


def test_password_login_off_on_debian_is_a_first_read_drop_in(tmp_path):
    cmds = plan(load_fixture("debian12"), tmp_path, qm_ssh_password_login=False)["node-a"]
    upload = next(c for c in cmds if c.startswith("upload /etc/ssh/sshd_config.d/01-qmha.conf"))
    assert "PasswordAuthentication no" in upload
    assert cmds.index("sshd -t") < cmds.index("systemctl reload ssh")


# ---------------------------------------------------------------- CentOS 7 after its end of life

VAULT = "https://vault.centos.org/7.9.2009/"
EPEL = "https://archives.fedoraproject.org/pub/archive/epel/7"


def test_a_mirror_is_written_as_the_repository_files_before_any_package_is_installed(tmp_path):
    cmds = plan(load_fixture("el7"), tmp_path, qm_package_mirror=VAULT, qm_epel_mirror=EPEL)["node-a"]
    base = next(i for i, c in enumerate(cmds) if c.startswith("upload /etc/yum.repos.d/CentOS-Base.repo"))
    epel = next(i for i, c in enumerate(cmds) if c.startswith("upload /etc/yum.repos.d/epel.repo"))
    first_install = next(i for i, c in enumerate(cmds) if c.startswith("yum install"))
    assert base < first_install and epel < first_install
    assert "baseurl=https://vault.centos.org/7.9.2009/os/$basearch/" in cmds[base]  # no doubled slash
    assert "mirrorlist" not in cmds[base]
    assert "baseurl=https://archives.fedoraproject.org/pub/archive/epel/7/$basearch/" in cmds[epel]


def test_without_a_mirror_the_nodes_repositories_are_left_alone(el7):
    assert "yum.repos.d" not in joined(el7["node-a"])


def test_a_missing_folder_is_made_with_its_mode_and_owner_in_one_command(debian12):
    assert "mkdir -p /var/lib/qm-ha && chmod 755 /var/lib/qm-ha && chown root:root /var/lib/qm-ha" \
        in debian12["node-a"]


def test_a_missing_file_is_uploaded_then_owned_in_one_command(debian12):
    cmds = debian12["node-a"]
    key_upload = next(i for i, c in enumerate(cmds) if c.startswith("upload /etc/qm-ha/tls/cluster.key"))
    assert cmds[key_upload + 1] == \
        "chown root:qmha-tls /etc/qm-ha/tls/cluster.key && chmod 640 /etc/qm-ha/tls/cluster.key"


def test_a_missing_unit_state_is_set_in_one_command(debian12):
    assert "systemctl start chrony.service && systemctl enable chrony.service" in debian12["node-b"]
