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

# --- control machine ---
qm_local_state_dir = None       # where generated secrets/certificates are kept; None: .qmha/<cluster fqdn>

# --- database (MariaDB master-master; passwords: QMHA_DB_*_PASSWORD or generated once, see operations/local.py) ---
qm_db_name = "queuemetrics"     # the QueueMetrics database
qm_db_app_user = "queuemetrics" # its application account (localhost, 127.0.0.1 and the peer's address)
qm_db_charset = "utf8"          # character set of the database when the deploy creates it
qm_db_expire_logs_days = 7      # binary logs older than this are purged (a node down longer must be re-seeded)
qm_db_dump = None               # customer's backup (.sql or .sql.gz on this machine): imported once on node A
qm_db_import_into_nonempty = False  # True: import qm_db_dump although the database already has tables
qm_db_resync = None             # "node-b" (a host name): re-seed that node from its peer when its channel is broken
