"""Facts of SELinux on the node (EL family): its mode, its booleans, files whose label is wrong.

Example:

.. code:: python

    from operations.facts.selinux import SELinuxMode
    host.get_fact(SELinuxMode)      # "enforcing"
"""

from __future__ import annotations

import re

from pyinfra.api import FactBase

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
