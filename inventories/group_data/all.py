"""Every knob of the deploy with its default and one line saying what it does.

Override any of them in your inventory (group data for the cluster, host data for one node) or
on the command line with ``--data key=value``. Host data beats group data beats these defaults.
This file is the one home of the defaults and descriptions; ``operations/knobs.py`` says what
form each value must take, and preflight refuses one that does not (host, knob, problem, fix)
before anything on the nodes changes.
"""

# --- the cluster (set these in your inventory) ---
qm_cluster_fqdn = None          # the name users open; resolves to both nodes (round-robin DNS)
qm_node_fqdn = None             # per host: this node's own FQDN (e.g. node-a.mycompany.com)
qm_node_address = None          # per host: this node's IPv4 address on qm_interface

# --- preflight ---
qm_interface = "eth0"           # the interface that carries qm_node_address (the seed expects eth0)
qm_strict_disk_layout = True    # single ext4 root without LVM is required; False: only warn
qm_clock_tolerance_s = 2        # largest clock difference between the nodes the deploy accepts

# --- base ---
qm_package_mirror = None        # CentOS 7 only (end of life; refused on EL 8/9, whose node repositories are used): base URL of the vault or a local mirror for its repositories, e.g. "https://vault.centos.org/7.9.2009"; written before any package is installed; None: the node's own
qm_epel_mirror = None           # CentOS 7 only: base URL of EPEL 7 (nginx), e.g. "https://archives.fedoraproject.org/pub/archive/epel/7"; None: the epel-release package's
qm_ntp_servers = None           # chrony's sources; None keeps the distribution's chrony.conf

# --- TLS (one certificate for the cluster FQDN, both node FQDNs and both addresses) ---
qm_tls_cert = None              # customer's certificate (PEM, control machine); None: a self-signed CA is made
qm_tls_key = None               # its private key (PEM, unencrypted)
qm_tls_chain = None             # intermediate certificates, if not already in qm_tls_cert
qm_tls_ca = None                # the root CA clients and the peer trust, if private

# --- database (MariaDB master-master; passwords: QMHA_DB_*_PASSWORD or generated once, see operations/local.py) ---
qm_db_name = "queuemetrics"     # the QueueMetrics database
qm_db_app_user = "queuemetrics" # its application account (localhost, 127.0.0.1 and the peer's address)
qm_db_charset = "utf8"          # character set of the database when the deploy creates it
qm_db_expire_logs_days = 7      # binary logs older than this are purged (a node down longer must be re-seeded)
qm_db_semi_sync = False         # a commit returns once the peer holds it (MariaDB 10.3+); off: it hung MariaDB 10.11 after a partition in the lab (README)
qm_db_semi_sync_timeout_ms = 1000    # how long a commit waits for a silent peer before the node goes on asynchronously
qm_db_watchdog_s = 2            # a running MariaDB that answers no ping for this many seconds is killed and restarted (its clients fail over); 0: off
qm_db_min_free_mb = 100         # below this many MiB free where MariaDB keeps its data, it is stopped (its clients fail over) until twice that is free; 0: off
qm_backup_time = "03:15"        # each node's nightly logical backup of the database starts then (node local time)
qm_backup_dir = "/var/backups/qm-ha"    # where each node keeps its backups (root only)
qm_backup_keep = 7              # how many backups each node keeps (the oldest go first)
qm_db_dump = None               # customer's backup (.sql or .sql.gz on this machine): imported once on node A
qm_db_import_into_nonempty = False  # True: import qm_db_dump although the database already has tables
qm_db_resync = None             # "node-b" (a host name): re-seed that node from its peer when its channel is broken, or rebuild it (reinstalled, data lost) from a copy of its peer

# --- floating addresses (optional; unset keeps the seed's plain round robin) ---
qm_floating_addresses = None    # two free addresses on the nodes' subnet, node A's first: the cluster FQDN resolves to them, and keepalived moves a dead or unwell node's address to its peer
qm_vrrp_router_id = 51          # VRRP router id of node A's floating address (node B's is the next one); unique among VRRP routers on that network

# --- application server (Tomcat + QueueMetrics webapp at /queuemetrics) ---
qm_app_mode = None              # required: "war" (the customer's WAR, qm_app_war) or "loway" (Loway's yum package, EL only); "standin": the lab only
qm_app_war = None               # war mode: QueueMetrics WAR file or unpacked directory on the control machine
qm_loway_repo_url = "http://yum.loway.ch/loway.repo"  # loway mode: Loway's yum repository definition
qm_import_properties = None     # converting an existing QueueMetrics: its configuration.properties (on this machine), put on both nodes once
qm_import_web_xml = None        # converting: its WEB-INF/web.xml (on this machine); its licence key becomes node A's unless qm_licence_file says otherwise
qm_licence_file = None          # per host: file on this machine holding the node's QueueMetrics licence key (node A the main licence, node B its hot-backup one); QMHA_LICENCE_<HOST> wins; None: the node keeps the key it has
qm_jdbc_driver = None           # JDBC_URL form: "mariadb" or "mysql"; None: mariadb for the stand-in, mysql for QueueMetrics
qm_jdbc_connect_timeout_ms = 2000    # how long the app waits to connect to a database before trying the next
qm_jdbc_socket_timeout_ms = 15000    # how long a query may wait (a hung database costs this); above the longest report
qm_tomcat_http_port = 8080      # Tomcat's HTTP connector, on 127.0.0.1 only (this node's nginx)
qm_tomcat_https_port = 8443     # Tomcat's HTTPS connector on the node address (the peer's nginx only)
qm_tomcat_xmx = "512m"          # Tomcat's JVM heap (-Xmx); without it the JVM takes a quarter of the RAM

# --- web server (nginx, TLS, local Tomcat first and the peer's as backup) ---
qm_web_peer_hop_port = 8008     # loopback port of nginx's hop to the peer's Tomcat over TLS (SELinux: an http_port_t port)
qm_web_connect_timeout_s = 1    # how long nginx waits to connect to a Tomcat before the next one
qm_web_read_timeout_s = 300     # how long nginx waits for an answer (a hung Tomcat costs this); above the longest report
qm_hsts_max_age = 31536000      # Strict-Transport-Security max-age in seconds (0 turns HSTS off in browsers)

# --- SSH ---
qm_ssh_password_login = None    # False: sshd refuses password logins (keys only); None: leave sshd as it is
qm_installer_public_key = None  # handover.py: the installer's public key file; None: derived from the inventory's ssh_key

# --- firewall (80/443 open; database and Tomcat's peer connector open to the peer only) ---
qm_firewall_ssh_sources = []    # networks allowed to SSH (e.g. ["203.0.113.7/32"]); empty: SSH open to all

# --- configuration.properties sync (newest copy wins, over SSH) ---
qm_config_properties = None     # the file on the nodes; None: WEB-INF/configuration.properties of the webapp
qm_sync_keep_backups = 10       # replaced copies kept on each node (newest first)
qm_sync_max_skew_s = 5          # a peer whose clock is off by more than this is not synced from
qm_sync_min_keep_percent = 50   # a peer's copy shorter than this share of ours is refused (a truncated file)

# --- the lab ---
qm_lab = False                  # True only in inventories/lab.py: allows the stand-in webapp, never on customer servers

# --- control machine ---
qm_local_state_dir = None       # where generated secrets/certificates are kept; None: .qmha/<cluster fqdn>
