"""The local lab made by ``make lab``: two Debian 12 containers, read from ``.lab/state.json``.

``QMHA_LAB_STATE`` points at another state file (a second lab with its own LAB_PREFIX).
``QMHA_LAB_SSH_USER`` connects as that user with sudo instead of root (the seed's 'qm' user);
sudo's password then comes from ``QMHA_SUDO_PASSWORD``.
"""

import json
import os
from pathlib import Path

_state_file = Path(os.environ.get("QMHA_LAB_STATE") or Path(__file__).resolve().parent.parent / ".lab/state.json")
if not _state_file.exists():
    raise SystemExit(f"{_state_file} does not exist: run `make lab` (or `python -m lab up`) first")
_state = json.loads(_state_file.read_text())

_user = os.environ.get("QMHA_LAB_SSH_USER") or "root"
_login = {"ssh_user": _user}
if _user != "root":
    _login.update({"_sudo": True, "_sudo_password": os.environ.get("QMHA_SUDO_PASSWORD") or None})

qm_nodes = (
    [
        (node["name"], {
            "ssh_hostname": node["ssh_host"],
            "qm_node_fqdn": node["fqdn"],
            "qm_node_address": node["address"],
            "ssh_port": node["ssh_port"],
            "lab_container": node["container"],
            # dummy keys made by the lab (node A "main", node B "hot backup")
            "qm_licence_file": node.get("licence_file"),
        })
        for node in _state["nodes"]
    ],
    {
        "qm_cluster_fqdn": _state["fqdn"],
        "lab_client_container": _state["client_container"],
        # LAB_FLOATING=1 make lab: the cluster FQDN on two floating addresses held by keepalived
        "qm_floating_addresses": _state.get("floating_addresses"),
        **_login,
        "ssh_key": _state["ssh_key"],
        "ssh_known_hosts_file": _state["known_hosts"],
        "ssh_strict_host_key_checking": "yes",
        # The lab runs the stand-in webapp (QueueMetrics itself is licensed): allowed here only.
        "qm_lab": True,
        "qm_app_mode": "standin",
        # A container's root is overlayfs: accept it with a warning.
        "qm_strict_disk_layout": False,
        # Keys only, as a customer who follows the seed's advice would set it.
        "qm_ssh_password_login": False,
        # The lab sends no traffic outside the machine: chrony keeps the (shared) host clock.
        "qm_ntp_servers": [],
    },
)
