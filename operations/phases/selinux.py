"""SELinux phase (EL family): what the cluster's services need from an enforcing policy.

A fresh CentOS 7 runs SELinux enforcing. Without this phase nginx may not connect to Tomcat (a 502
for every request), Tomcat may not reach the databases, and sshd may not read the sync user's
``authorized_keys`` kept under /var/lib. Nothing is turned off: two booleans are turned on and the
sync user's ``.ssh`` gets the label the policy gives home ``.ssh`` folders. A node with SELinux
disabled, or a family without it (Debian: ``Platform.selinux`` is None), is left alone.

Example:

.. code:: python

    from operations.phases import selinux
    selinux.configure(run)      # in deploy.py, after sync.configure(run)
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import StringCommand, deploy, operation
from pyinfra.operations import selinux as se

from .. import paths
from ..context import Run
from ..facts.selinux import Mislabeled, SELinuxBooleans, SELinuxMode
from ..platform import install_packages
from ..prefetch import node_fact

#: (path expression for semanage fcontext, type): files the policy does not know where we keep them
FILE_TYPES = ((f"{paths.SYNC_HOME}/.ssh(/.*)?", "ssh_home_t"),)
#: folders whose labels are put right (restorecon) once the mappings exist
LABELLED = (f"{paths.SYNC_HOME}/.ssh",)


@operation()
def booleans_on(names: tuple[str, ...]):
    """The booleans NAMES are on, persistently; a name the loaded policy lacks is skipped.

    .. code:: python

        booleans_on(names=("httpd_can_network_connect",))
    """
    present = node_fact(host, SELinuxBooleans)
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
    wrong = node_fact(host, Mislabeled, path=path)
    if not wrong:
        host.noop(f"labels under {path} are right")
        return
    yield StringCommand("restorecon", "-R", path)


@deploy("SELinux")
def configure(run: Run):
    """Booleans and labels for an enforcing (or permissive) policy; nothing where SELinux is off."""
    p = run.platform
    if p.selinux is None or node_fact(host, SELinuxMode) == "disabled":
        return
    install_packages(p, p.selinux.packages, name="SELinux tools (semanage, restorecon)")
    booleans_on(name="SELinux: nginx may connect to Tomcat, Tomcat to the databases", names=p.selinux.booleans)
    for target, se_type in FILE_TYPES:
        se.file_context_mapping(name=f"SELinux: {target} is {se_type}", target=target, se_type=se_type)
    for path in LABELLED:
        labels_restored(name=f"SELinux labels under {path}", path=path)
