"""The hand-over removes the installer's key only where another way in remains."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from operations import handover

INSTALLER = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIInstallerKeyBody"
CUSTOMER = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCustomerKey customer@desk"


def test_key_line_drops_options_and_comment():
    assert handover.key_line(f'from="10.0.0.1",restrict {INSTALLER} installer@laptop') == INSTALLER


def test_installer_key_is_derived_from_the_inventorys_private_key(tmp_path):
    key = ed25519.Ed25519PrivateKey.generate()
    private = tmp_path / "id_ed25519"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                          serialization.NoEncryption()))
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    assert handover.installer_key(None, str(private)) == public


def test_installer_key_without_any_key_named_says_what_to_set():
    with pytest.raises(handover.HandoverError, match="qm_installer_public_key"):
        handover.installer_key(None, None)


@pytest.mark.parametrize("methods, remains", [
    ({"keys": [INSTALLER, CUSTOMER], "password_login": False, "has_password": False}, "1 other key(s) in authorized_keys"),
    ({"keys": [INSTALLER], "password_login": True, "has_password": True}, "password login"),
    ({"keys": [INSTALLER], "password_login": True, "has_password": False}, None),
    ({"keys": [INSTALLER], "password_login": False, "has_password": True}, None),
    ({"keys": [f"restrict {INSTALLER} again"], "password_login": False, "has_password": False}, None),
])
def test_another_way_in(methods, remains):
    assert handover.another_way_in(methods, INSTALLER) == remains
