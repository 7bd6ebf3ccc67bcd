"""qm-ha hand-over: remove the installer's SSH key from both nodes once the installation is complete.

    pyinfra inventories/mycompany.py handover.py --dry    # preview
    pyinfra inventories/mycompany.py handover.py          # remove it

Refused on a node where no other way in would remain for the deploy user (README: "Hand-over").
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pyinfra import host  # noqa: E402

from operations import context, handover  # noqa: E402
from operations.knobs import connection  # noqa: E402

run = context.current()
handover.installer_key_removed(
    name="The installer's SSH key removed (another way in kept)",
    user=connection(host.name, host.data).user,
    installer=handover.installer_key(run.knobs.qm_installer_public_key, connection(host.name, host.data).key_file),
)
