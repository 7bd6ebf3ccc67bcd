"""The seed's example customer: copy this file, edit the names and addresses, and deploy with

    pyinfra inventories/mycompany.py deploy.py --dry --diff    # preview every change
    pyinfra inventories/mycompany.py deploy.py                 # apply

Node A and node B must be freshly installed CentOS 7 (or Debian 12) machines that reach each other,
with root SSH (any port) or a 'qm' user with sudo rights. Their FQDNs and the cluster FQDN must
resolve as in the seed's DNS example:

    node-a.mycompany.com        -> 192.168.1.5
    node-b.mycompany.com        -> 192.168.1.6
    queuemetrics.mycompany.com  -> 192.168.1.5 and 192.168.1.6

Every other knob, with its default, is in inventories/group_data/all.py.
"""

import os  # noqa: F401 (for _sudo_password below)

qm_nodes = (
    [
        # (name used in messages, {how to reach it over SSH, its FQDN and its address on eth0})
        ("node-a", {"ssh_hostname": "192.168.1.5",
                    "qm_node_fqdn": "node-a.mycompany.com", "qm_node_address": "192.168.1.5"}),
        ("node-b", {"ssh_hostname": "192.168.1.6",
                    "qm_node_fqdn": "node-b.mycompany.com", "qm_node_address": "192.168.1.6"}),
    ],
    {
        "qm_cluster_fqdn": "queuemetrics.mycompany.com",
        "ssh_user": "root",
        "ssh_port": 22,
        # How QueueMetrics is installed (required): the customer's WAR on this machine ...
        "qm_app_mode": "war",
        "qm_app_war": "queuemetrics.war",
        # ... or Loway's package (CentOS/RHEL only): "qm_app_mode": "loway",
        # Without root: connect as the 'qm' sudo user instead; pyinfra asks for sudo's password,
        # or reads it from the environment (never write it here):
        # "ssh_user": "qm", "_sudo": True, "_sudo_password": os.environ.get("QMHA_SUDO_PASSWORD"),
    },
)
