"""Without root SSH: the seed lets a customer give a 'qm' user with sudo rights and its password
instead. The whole deploy then runs as 'qm' through sudo (its password from the environment)
and acts exactly as it does as root; a wrong sudo password stops it before any change."""

from __future__ import annotations

import secrets
import shlex

import pytest

pytestmark = pytest.mark.lab

USER = "qm"
WEB_XML = "/var/lib/tomcat10/webapps/queuemetrics/WEB-INF/web.xml"


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
            assert converged.on(name, f"stat -c '%U:%G %a' {WEB_XML}").strip() == "root:tomcat 640"
        converged.wait_for(lambda: converged.curl("/queuemetrics/sysup.jsp")[0] == 200, timeout=90, interval=2,
                           what="the app answering after the restart")
    finally:
        restored = converged.deploy()
    assert restored.returncode == 0, restored.output[-3000:]
    assert "connectTimeout=2000" in converged.on("node-a", f"cat {WEB_XML}")


def test_wrong_sudo_password_stops_before_any_change(converged, sudo_user):
    before = {n: converged.on(n, f"sha256sum {WEB_XML}") for n in converged.names}
    run = as_qm(converged, "not-" + sudo_user, "--data", "qm_jdbc_connect_timeout_ms=2500")
    assert run.returncode != 0
    for name in converged.names:
        assert f"{name}: root access: sudo as 'qm' did not give root" in run.output
    assert "incorrect password" in run.output and "QMHA_SUDO_PASSWORD" in run.output
    assert "nothing was changed on any node" in run.output
    assert {n: converged.on(n, f"sha256sum {WEB_XML}") for n in converged.names} == before
