"""The hand-over in the lab: the installer's key (the lab's own) leaves both nodes only when the
customer keeps a way in; refused, with nothing changed, when it would lock the deploy user out."""

import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

pytestmark = pytest.mark.lab

KEYS = "/root/.ssh/authorized_keys"


def ssh_works(lab, node: str, key_file: str) -> bool:
    info = lab.node_info(node)
    proc = subprocess.run(["ssh", "-i", key_file, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                           "-o", f"UserKnownHostsFile={lab.state['known_hosts']}", "-o", "StrictHostKeyChecking=yes",
                           "-o", "ConnectTimeout=5", f"root@{info['ssh_host']}", "true"],
                          capture_output=True, text=True, timeout=30)
    return proc.returncode == 0


def test_handover_refused_when_it_would_lock_the_deploy_user_out(lab):
    before = {node: lab.on(node, f"cat {KEYS}") for node in lab.names}
    run = lab.deploy(deploy_file="handover.py")
    assert run.returncode != 0
    assert "removing the installer's key would lock 'root' out" in run.output, run.output[-3000:]
    assert "Fix: add the customer's own key" in run.output
    assert {node: lab.on(node, f"cat {KEYS}") for node in lab.names} == before


def test_handover_removes_the_installers_key_and_keeps_the_customers(lab, tmp_path):
    key = ed25519.Ed25519PrivateKey.generate()
    customer = tmp_path / "customer_key"
    customer.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                           serialization.NoEncryption()))
    customer.chmod(0o600)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    installer = lab.on("node-a", f"cat {KEYS}").strip()
    try:
        for node in lab.names:
            lab.on(node, f"echo '{public} customer@desk' >> {KEYS}")
        run = lab.deploy(deploy_file="handover.py")
        assert run.returncode == 0, run.output[-3000:]
        for node in lab.names:
            assert installer.split()[1] not in lab.on(node, f"cat {KEYS}")
            assert lab.on(node, f"stat -c '%U %a' {KEYS}").strip() == "root 600"
            assert ssh_works(lab, node, str(customer))
            assert not ssh_works(lab, node, lab.state["ssh_key"])
    finally:
        for node in lab.names:
            lab.docker("exec", "-i", lab.container(node), "sh", "-c", f"umask 077; cat > {KEYS}",
                       input_text=installer + "\n")
    for node in lab.names:
        assert ssh_works(lab, node, lab.state["ssh_key"])
