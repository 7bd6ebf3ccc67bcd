"""The phases ``deploy.py`` runs, in the seed's order; each is ``configure(run)`` (preflight: ``check(run)``).

preflight, base, tls, database, replication, app, web, sync, selinux, firewall.
Everything else under ``operations/`` is shared code the phases use.
"""
