"""SELinux phase (EL family): what the cluster's services need from an enforcing policy.

A fresh CentOS 7 runs SELinux enforcing. Without this phase nginx may not connect to Tomcat (a 502
for every request), Tomcat may not reach the databases, and sshd may not read the sync user's
``authorized_keys`` kept under /var/lib. Nothing is turned off: two booleans are turned on and the
sync user's ``.ssh`` gets the label the policy gives home ``.ssh`` folders. A node with SELinux
disabled, or a family without it (Debian: ``Platform.selinux`` is None), is left alone.

Example:

.. code:: python

    from operations import selinux
    selinux.configure()      # in deploy.py, after sync.configure()
"""

from __future__ import annotations

import re

from pyinfra import host
from pyinfra.api import FactBase, StringCommand, deploy, operation
from pyinfra.operations import selinux as se

from . import sync
from .base import current_platform
from .platform import install_packages

#: (path expression for semanage fcontext, type): files the policy does not know where we keep them
FILE_TYPES = ((f"{sync.HOME}/.ssh(/.*)?", "ssh_home_t"),)
#: folders whose labels are put right (restorecon) once the mappings exist
LABELLED = (f"{sync.HOME}/.ssh",)


class SELinuxMode(FactBase):
    """``enforcing``, ``permissive`` or ``disabled`` (also when SELinux is not installed).

    .. code:: python

        "enforcing"
    """

    @staticmethod
    def default() -> str:
        return "disabled"

    def command(self) -> str:
        return "getenforce 2>/dev/null || echo Disabled"

    def process(self, output) -> str:
        return ("\n".join(output).strip() or "Disabled").lower()


class SELinuxBooleans(FactBase):
    """Every boolean of the loaded policy and whether it is on.

    .. code:: python

        {"httpd_can_network_connect": False, "tomcat_can_network_connect_db": False}
    """

    @staticmethod
    def default() -> dict:
        return {}

    def command(self) -> str:
        return "getsebool -a 2>/dev/null || true"

    def process(self, output) -> dict[str, bool]:
        result = {}
        for line in output:
            name, sep, value = line.partition(" --> ")
            if sep:
                result[name.strip()] = value.strip() == "on"
        return result


class Mislabeled(FactBase):
    """Files under PATH whose SELinux label differs from the policy's (``restorecon -n``'s lines).

    .. code:: python

        ["Would relabel /var/lib/qm-ha/sync/.ssh/authorized_keys from ...:var_lib_t:s0 to ...:ssh_home_t:s0"]
    """

    @staticmethod
    def default() -> list:
        return []

    def command(self, path: str) -> str:
        return f"[ -e {path} ] && restorecon -Rnv {path} 2>&1 || true"

    def process(self, output) -> list[str]:
        # "Would relabel ..." (newer restorecon) or "restorecon reset ... context ..." (EL7's)
        return [line for line in output if re.search(r"relabel|reset .* context", line, re.I)]


@operation()
def booleans_on(names: tuple[str, ...]):
    """The booleans NAMES are on, persistently; a name the loaded policy lacks is skipped.

    .. code:: python

        booleans_on(names=("httpd_can_network_connect",))
    """
    present = host.get_fact(SELinuxBooleans)
    off = [name for name in names if name in present and not present[name]]
    missing = [name for name in names if name not in present]
    if missing:
        host.noop(f"the loaded policy has no boolean {', '.join(missing)}")
    if not off:
        return
    yield StringCommand("setsebool", "-P", *[f"{name}=on" for name in off])


@operation()
def labels_restored(path: str):
    """Every file under PATH carries the label the policy (with its local mappings) gives it.

    .. code:: python

        labels_restored(path="/var/lib/qm-ha/sync/.ssh")
    """
    wrong = host.get_fact(Mislabeled, path=path)
    if not wrong:
        host.noop(f"labels under {path} are right")
        return
    yield StringCommand("restorecon", "-R", path)


@deploy("SELinux")
def configure():
    """Booleans and labels for an enforcing (or permissive) policy; nothing where SELinux is off."""
    p = current_platform()
    if p.selinux is None or host.get_fact(SELinuxMode) == "disabled":
        return
    install_packages(p, p.selinux.packages, name="SELinux tools (semanage, restorecon)")
    booleans_on(name="SELinux: nginx may connect to Tomcat, Tomcat to the databases", names=p.selinux.booleans)
    for target, se_type in FILE_TYPES:
        se.file_context_mapping(name=f"SELinux: {target} is {se_type}", target=target, se_type=se_type)
    for path in LABELLED:
        labels_restored(name=f"SELinux labels under {path}", path=path)
