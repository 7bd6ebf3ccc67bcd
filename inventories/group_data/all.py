"""Every knob of the deploy with its default and one line saying what it does.

Override any of them in your inventory (group data for the cluster, host data for one node) or
on the command line with ``--data key=value``. Host data beats group data beats these defaults.
"""

# --- the cluster (set these in your inventory) ---
qm_cluster_fqdn = None          # the name users open; resolves to both nodes (round-robin DNS)
# per host: qm_node_fqdn (this node's own FQDN) and qm_node_address (its address on qm_interface)

# --- preflight ---
qm_interface = "eth0"           # the interface that carries qm_node_address (the seed expects eth0)
qm_strict_disk_layout = True    # single ext4 root without LVM is required; False: only warn
qm_clock_tolerance_s = 2        # largest clock difference between the nodes the deploy accepts

# --- base ---
qm_ntp_servers = None           # chrony's sources; None keeps the distribution's chrony.conf

# --- TLS (one certificate for the cluster FQDN, both node FQDNs and both addresses) ---
qm_tls_cert = None              # customer's certificate (PEM, control machine); None: a self-signed CA is made
qm_tls_key = None               # its private key (PEM, unencrypted)
qm_tls_chain = None             # intermediate certificates, if not already in qm_tls_cert
qm_tls_ca = None                # the root CA clients and the peer trust, if private

# --- firewall (80/443 open; database and Tomcat's peer connector open to the peer only) ---
qm_firewall_ssh_sources = []    # networks allowed to SSH (e.g. ["203.0.113.7/32"]); empty: SSH open to all

# --- control machine ---
qm_local_state_dir = None       # where generated secrets/certificates are kept; None: .qmha/<cluster fqdn>
