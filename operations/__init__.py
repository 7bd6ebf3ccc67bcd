"""qm-ha's deploy code.

``phases/`` holds what ``deploy.py`` runs, one module (or package) per phase. The modules here
are shared code:

+ ``knobs``: every knob's form, read once per host (defaults and descriptions: inventories/group_data/all.py)
+ ``context``: the run context handed to each phase; ``memo``: the one per-run memo
+ ``cluster``: the inventory as a two-node cluster; ``platform``: one row per supported OS
+ ``paths``: every location on a node and on the control machine; ``render``: the template renderer
+ ``facts/``: custom facts, by area; ``mariadb``: the MariaDB library (capabilities, SQL, accounts)
+ ``certificates``: TLS material and Tomcat's keystore; ``secret_store``: generated secrets;
  ``secret_files``: files holding a secret; ``elevated``: sudo for commands run from the control
  machine; ``atomic``: whole-or-nothing writes on the control machine
"""
