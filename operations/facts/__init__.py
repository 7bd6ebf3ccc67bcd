"""Custom facts, one module per area: read a node's state, change nothing.

+ ``system``: disk layout, container type, clock, TCP reachability, name resolution
+ ``mariadb``: the server, replication status, accounts, the channel's password
+ ``webapp``: a context parameter of the webapp's ``web.xml``
+ ``selinux``: mode, booleans, mislabeled files
+ ``firewall``: firewalld's default zone

Each has pyinfra-testing fixtures under ``tests/facts/facts.<module>.<Fact>/``.
"""
