"""
Root for the commands a ``FunctionCommand`` runs itself.

pyinfra hands an operation's connector arguments (``_sudo``, ``_sudo_password``, ``_su_user``...)
to the commands it yields, but a ``FunctionCommand`` that calls ``host.run_shell_command``,
``host.get_file`` or ``host.put_file`` gets none of them: connected as the seed's 'qm' sudo user,
such a call would run as 'qm'. ``as_inventory_says`` gives those calls the same arguments the
inventory gives every operation.

**Example:**

.. code:: python

    def _read(state, host, path):
        ok, output = host.run_shell_command(StringCommand("cat", path), **as_inventory_says(state, host))
"""

from __future__ import annotations

from pyinfra.api.arguments import CONNECTOR_ARGUMENT_KEYS, pop_global_arguments


def as_inventory_says(state, host) -> dict:
    """HOST's connector arguments from the inventory and config (sudo, su, doas and their passwords)."""
    arguments, _ = pop_global_arguments(state, host, {})
    return {key: arguments[key] for key in CONNECTOR_ARGUMENT_KEYS if key in arguments}
