"""Without root SSH: the seed lets a customer give a 'qm' user with sudo rights and its password
instead. The whole deploy then runs as 'qm' through sudo (its password from the environment)
and acts exactly as it does as root; a wrong sudo password stops it before any change."""

from __future__ import annotations

import secrets
import shlex

import pytest

from operations import paths
from tests.lab import PLATFORM

pytestmark = pytest.mark.lab

USER = "qm"
WEB_XML = f"{paths.webapp_dir(PLATFORM.tomcat.webapps_dir)}/WEB-INF/web.xml"
SYNC_KEY = "/etc/qm-ha/sync/id_ed25519"


@pytest.fixture(scope="module")
def sudo_user(lab):
    """User 'qm' on both nodes: the lab's SSH key, sudo for everything with its own password."""
    password = "Sudo" + secrets.token_hex(10)
    public_key = lab.on("node-a", "cat /root/.ssh/authorized_keys").splitlines()[0]
    for name in lab.names:
        lab.on(name, " && ".join([
            f"(id {USER} >/dev/null 2>&1 || useradd -m -s /bin/bash {USER})",
            f"echo {USER}:{password} | chpasswd",
            f"install -d -m 0700 -o {USER} -g {USER} /home/{USER}/.ssh",
            f"echo {shlex.quote(public_key)} > /home/{USER}/.ssh/authorized_keys",
            f"chown {USER}:{USER} /home/{USER}/.ssh/authorized_keys",
            f"echo '{USER} ALL=(ALL:ALL) ALL' > /etc/sudoers.d/{USER}",
            f"chmod 0440 /etc/sudoers.d/{USER}",
            f"visudo -cq",
        ]))
    yield password
    for name in lab.names:
        lab.on(name, f"rm -f /etc/sudoers.d/{USER}; userdel -r {USER} 2>/dev/null; true")


def as_qm(lab, password: str, *args: str):
    return lab.deploy(*args, env={"QMHA_LAB_SSH_USER": USER, "QMHA_SUDO_PASSWORD": password})


@pytest.fixture(scope="module")
def converged(lab):
    run = lab.deploy()
    assert run.returncode == 0, run.output[-3000:]
    return lab


def test_sudo_user_needs_its_password(converged, sudo_user):
    assert converged.on("node-a", f"su - {USER} -c 'sudo -n true' 2>&1 || echo refused").strip().endswith("refused")


def test_deploy_as_the_sudo_user_changes_nothing_on_a_deployed_cluster(converged, sudo_user):
    run = as_qm(converged, sudo_user)
    assert run.returncode == 0, run.output[-3000:]
    assert "preflight passed" in run.output
    assert run.changed() == "-", run.output[-3000:]


def test_deploy_as_the_sudo_user_applies_a_change_as_root(converged, sudo_user):
    try:
        run = as_qm(converged, sudo_user, "--data", "qm_jdbc_connect_timeout_ms=2500")
        assert run.returncode == 0, run.output[-3000:]
        for name in converged.names:
            assert "connectTimeout=2500" in converged.on(name, f"cat {WEB_XML}")
            assert converged.on(name, f"stat -c '%U:%G %a' {WEB_XML}").strip() == f"root:{PLATFORM.tomcat.user} 640"
        converged.wait_for(lambda: converged.curl("/queuemetrics/sysup.jsp")[0] == 200, timeout=90, interval=2,
                           what="the app answering after the restart")
    finally:
        restored = converged.deploy()
    assert restored.returncode == 0, restored.output[-3000:]
    assert "connectTimeout=2000" in converged.on("node-a", f"cat {WEB_XML}")


def test_sync_key_made_afresh_reaches_the_peer_as_the_sudo_user(converged, sudo_user):
    """The peer's new public key is read during the run (it does not exist when the deploy prepares)
    from a root-only directory, and written to a root-owned file: both through sudo."""
    converged.on("node-b", f"rm -f {SYNC_KEY} {SYNC_KEY}.pub")
    run = as_qm(converged, sudo_user)
    assert run.returncode == 0, run.output[-3000:]
    new_key = converged.on("node-b", f"cat {SYNC_KEY}.pub").split()[1]
    assert new_key in converged.on("node-a", "cat /var/lib/qm-ha/sync/.ssh/authorized_keys")
    converged.on("node-b", "/usr/local/sbin/qmha-sync")  # node-b pulls from node-a with its new key


def test_resync_as_the_sudo_user(converged, sudo_user):
    """Re-seeding copies a root-only dump from one node to the other through the control machine."""
    table = "queuemetrics.qmha_sudo_rows"
    converged.sql("node-a", f"CREATE TABLE IF NOT EXISTS {table} (id INT PRIMARY KEY, origin VARCHAR(16))")
    converged.wait_for(lambda: converged.sql("node-b", "SHOW TABLES FROM queuemetrics LIKE 'qmha_sudo_rows'"),
                       what="the table on node-b")
    key = 700001 + 2 * secrets.randbelow(1000)
    converged.sql("node-b", f"SET sql_log_bin = 0; INSERT INTO {table} VALUES ({key}, 'stray')")
    converged.sql("node-a", f"INSERT INTO {table} VALUES ({key}, 'node-a')")
    converged.wait_for(lambda: converged.replication("node-b")["channel"]["last_sql_errno"] == 1062, timeout=15,
                       what="node-b's SQL thread stopped on the duplicate")
    run = as_qm(converged, sudo_user, "--data", "qm_db_resync=node-b")
    assert run.returncode == 0, run.output[-3000:]
    assert converged.channels_running()
    assert converged.sql("node-b", f"SELECT origin FROM {table} WHERE id = {key}") == [["node-a"]]
    converged.sql("node-a", f"DROP TABLE {table}")


def test_wrong_sudo_password_stops_before_any_change(converged, sudo_user):
    before = {n: converged.on(n, f"sha256sum {WEB_XML}") for n in converged.names}
    run = as_qm(converged, "not-" + sudo_user, "--data", "qm_jdbc_connect_timeout_ms=2500")
    assert run.returncode != 0
    for name in converged.names:
        assert f"{name}: root access: sudo as 'qm' did not give root" in run.output
    assert "incorrect password" in run.output and "QMHA_SUDO_PASSWORD" in run.output
    assert "nothing was changed on any node" in run.output
    assert {n: converged.on(n, f"sha256sum {WEB_XML}") for n in converged.names} == before


def test_the_testinfra_checks_pass_as_the_sudo_user(converged, sudo_user):
    """The design card's checks after install, against the same inventory, connected as 'qm' with
    sudo's password from the environment (it reaches sudo on stdin, never a command line)."""
    import subprocess
    import sys

    from tests.conftest import REPO

    env = {**converged.env, "QMHA_LAB_SSH_USER": USER, "QMHA_SUDO_PASSWORD": sudo_user}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/infra"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and " failed" not in proc.stdout


def test_status_works_as_the_sudo_user(converged, sudo_user):
    import subprocess
    import sys

    from tests.conftest import REPO

    env = {**converged.env, "QMHA_LAB_SSH_USER": USER, "QMHA_SUDO_PASSWORD": sudo_user}
    proc = subprocess.run([sys.executable, "-m", "drill.status", converged.inventory], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "no problems" in proc.stdout
