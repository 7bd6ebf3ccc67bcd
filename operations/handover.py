"""The hand-over: the installer's SSH key leaves the nodes once the installation is complete.

The seed: "An SSH key provided by us must be installed, it can be deleted once the installation is
complete." ``handover.py`` removes the public key of the key the deploy connected with (the
inventory's ``ssh_key``, or ``qm_installer_public_key``) from the deploy user's ``authorized_keys``
on both nodes, and refuses unless another way in remains for that user on each node (another
key, or password login that sshd accepts and a password the user has), so nobody is locked out.

Example:

.. code:: python

    pyinfra inventories/mycompany.py handover.py     # after the deploy and the drill
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from pyinfra import host
from pyinfra.api import QuoteString, StringCommand, operation
from pyinfra.api.exceptions import DeployError

from .facts.system import LoginMethods


class HandoverError(DeployError):
    """The hand-over would lock someone out, or cannot tell which key is the installer's."""


def key_line(public_key: str) -> str:
    """``type base64`` of an OpenSSH public key line, without options or comment."""
    parts = public_key.split()
    for i, part in enumerate(parts):
        if part.startswith(("ssh-", "ecdsa-", "sk-")) and i + 1 < len(parts):
            return f"{part} {parts[i + 1]}"
    return ""


def installer_key(public_key_file: str | None, private_key_file: str | None) -> str:
    """The installer's public key (``type base64``): from PUBLIC_KEY_FILE, else derived from the
    private key the deploy connects with (PRIVATE_KEY_FILE, unencrypted), else its ``.pub`` beside it."""
    if public_key_file:
        line = key_line(Path(public_key_file).read_text())
        if line:
            return line
        raise HandoverError(f"{public_key_file} holds no OpenSSH public key; point qm_installer_public_key at one")
    if private_key_file:
        path = Path(private_key_file).expanduser()
        pub = path.with_name(path.name + ".pub")
        if pub.exists() and key_line(pub.read_text()):
            return key_line(pub.read_text())
        try:
            key = serialization.load_ssh_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError, OSError) as exc:
            raise HandoverError(f"cannot read the installer's key {path} ({exc}); set qm_installer_public_key "
                                "to its public key file") from None
        return key_line(key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                      serialization.PublicFormat.OpenSSH).decode())
    raise HandoverError("the inventory names no ssh_key: set qm_installer_public_key to the public key file "
                        "of the key the installation was made with")


def another_way_in(methods: dict, installer: str) -> str | None:
    """What still lets the user in once INSTALLER's key is gone; None when nothing does."""
    others = [line for line in methods["keys"] if key_line(line) != installer]
    if others:
        return f"{len(others)} other key(s) in authorized_keys"
    if methods["password_login"] and methods["has_password"]:
        return "password login"
    return None


@operation()
def installer_key_removed(user: str, installer: str):
    """INSTALLER's key line(s) removed from USER's ``authorized_keys`` on this node; refused (the
    deploy stops, nothing changed) when no other way in would remain for USER.

    .. code:: python

        installer_key_removed(user="root", installer="ssh-ed25519 AAAA...")
    """
    methods = host.get_fact(LoginMethods, user=user)
    if not any(key_line(line) == installer for line in methods["keys"]):
        host.noop(f"the installer's key is not in {user}'s authorized_keys")
        return
    remains = another_way_in(methods, installer)
    if remains is None:
        raise HandoverError(
            f"{host.name}: removing the installer's key would lock {user!r} out (no other key in its "
            "authorized_keys, and no password login). Fix: add the customer's own key to "
            f"~{user}/.ssh/authorized_keys (or give {user} a password and set qm_ssh_password_login = True), "
            "then run the hand-over again")
    host.noop(f"{user} keeps {remains}")
    body = installer.split()[1]
    script = ('home=$(getent passwd "$1" | cut -d: -f6); f="$home/.ssh/authorized_keys"; '
              'tmp=$(mktemp "$f.XXXXXX") && { grep -vF -- "$2" "$f" || true; } > "$tmp" && '
              'chown --reference="$f" "$tmp" && chmod --reference="$f" "$tmp" && mv "$tmp" "$f"')
    yield StringCommand("sh", "-c", QuoteString(script), "handover", QuoteString(user), QuoteString(body))
