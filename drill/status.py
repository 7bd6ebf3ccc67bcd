"""The cluster at a glance, for the customer's sysadmin: one command against any inventory.

    python -m drill.status inventories/mycompany.py [--json]      # make status: the lab

Per node: the services (nginx, the mode's Tomcat, MariaDB, the database's watchdog), QueueMetrics' ``sysup.jsp`` through the
node's own nginx, its replication channel (threads, seconds behind, last error, TLS), its GTID
position, whether both ``configuration.properties`` are equal, the days left on the certificate each
service presents, free space where MariaDB keeps its data, and how long binary logs are kept. A
plain table by default, ``--json`` for monitoring; exit status 1 when anything is wrong, each
problem named on one line with its fix. Works as the seed's 'qm' sudo user too (sudo's password
reaches sudo on its standard input, as for the testinfra checks).

Example:

.. code:: python

    from drill.status import problems
    problems({"node-a": {...}, "node-b": {...}})    # ["node-b: tomcat10 is inactive. Fix: ..."]
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone

from operations import paths
from operations.facts.mariadb import ReplicationStatus
from operations.facts.webapp import StagedWebappPending
from operations.phases.app.tomcat import tomcat_for
from operations.phases import floating as floating_phase
from operations.phases.database import WATCHDOG

#: a certificate with fewer days left is a problem
CERT_WARN_DAYS = 30
#: a last good backup older than this (hours) is a problem: the nightly one has been missed
BACKUP_MAX_AGE_H = 36


def collect(cluster) -> dict[str, dict]:
    """Every node's state (a ``drill.target.DrillCluster``), read over SSH; nothing is changed."""
    return {node.name: collect_node(cluster, node) for node in cluster.nodes}


def collect_node(cluster, node) -> dict:
    p, k = node.platform, node.knobs
    if node.execute("true")[0] == 255:
        return {"reachable": False}
    tomcat = tomcat_for(p, k.qm_app_mode)
    state = {"reachable": True, "services": {}, "certificate_days": {}}
    watchdog = (WATCHDOG,) if k.qm_db_watchdog_s or k.qm_db_min_free_mb else ()
    keepalived = (floating_phase.SERVICE,) if k.qm_floating_addresses else ()
    for unit in (p.nginx.service, tomcat.service, p.db_service, *watchdog, *keepalived):
        state["services"][unit] = node.execute(f"systemctl is-active {unit}")[1].strip() or "unknown"
    rc, out, _ = node.execute(f"curl -s --max-time 5 --cacert {paths.TLS['ca']} --resolve {cluster.fqdn}:443:127.0.0.1 "
                              f"https://{cluster.fqdn}/{paths.CONTEXT}/sysup.jsp")
    state["sysup"] = "QMUP" if rc == 0 and '"state":"QMUP"' in out.replace(" ", "") else (out.strip()[:80] or "no answer")
    status_cmd = ReplicationStatus().command(client=p.db_client)
    state["replication"] = ReplicationStatus().process(node.execute(status_cmd)[1].splitlines())
    props = k.qm_config_properties or paths.default_properties(tomcat.webapps_dir)
    state["properties_sha256"] = (node.execute(f"sha256sum {props}")[1].split() or ["missing"])[0]
    for role, address, port in (("nginx", "127.0.0.1", 443), ("tomcat", node.address, k.qm_tomcat_https_port)):
        rc, out, _ = node.execute(f"openssl s_client -connect {address}:{port} -servername {cluster.fqdn} "
                                  "</dev/null 2>/dev/null | openssl x509 -noout -enddate")
        state["certificate_days"][role] = days_left(out.strip().partition("=")[2]) if rc == 0 and "=" in out else None
    # MariaDB lets no local address but its own accounts' in: ask the server which certificate it loaded
    rows = node.sql("SHOW GLOBAL STATUS LIKE 'Ssl_server_not_after'") if state["replication"].get("running") else []
    state["certificate_days"]["mariadb"] = days_left(rows[0][1]) if rows and len(rows[0]) > 1 else None
    rc, out, _ = node.execute("df -Pm \"$(" + p.db_client + " -NBe 'SELECT @@datadir' 2>/dev/null || echo /var/lib/mysql)\" "
                              "| awk 'NR==2 {print $4}'")
    state["free_mb"] = int(out.strip()) if out.strip().isdigit() else None
    state["min_free_mb"] = k.qm_db_min_free_mb
    state["backup"] = backup_state(node.execute(f"cat {paths.BACKUP_LAST} 2>/dev/null")[1])
    if k.qm_app_mode == "war":
        state["war"] = StagedWebappPending().process(node.execute(StagedWebappPending().command())[1].splitlines())
    if k.qm_floating_addresses:
        held = node.execute("ip -4 -o addr show")[1]
        state["floating_addresses"] = list(k.qm_floating_addresses)
        state["floating_held"] = [a for a in k.qm_floating_addresses if f" {a}/" in held]
    rows = node.sql("SELECT @@expire_logs_days") if state["replication"].get("running") else []
    state["binlog_days"] = float(rows[0][0]) if rows and rows[0] and rows[0][0].replace(".", "", 1).isdigit() else None
    return state


def backup_state(line: str, now: datetime | None = None) -> dict | None:
    """The nightly backup's last run from its record (``paths.BACKUP_LAST``: ``TIME ok FILE SIZE`` or
    ``TIME failed WHY``): ok, how many hours ago, and the file or the reason; None: no run yet."""
    parts = line.strip().split(" ", 2)
    if len(parts) < 2:
        return None
    try:
        at = datetime.strptime(parts[0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    hours = ((now or datetime.now(timezone.utc)) - at).total_seconds() / 3600
    return {"at": parts[0], "ok": parts[1] == "ok", "hours_ago": round(hours, 1),
            "detail": parts[2] if len(parts) > 2 else ""}


def days_left(not_after: str, now: datetime | None = None) -> int | None:
    """Whole days until NOT_AFTER (openssl's ``notAfter=`` text, e.g. ``Mar  1 12:00:00 2029 GMT``)."""
    try:
        end = datetime.strptime(" ".join(not_after.split()), "%b %d %H:%M:%S %Y %Z").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return int((end - (now or datetime.now(timezone.utc))).total_seconds() // 86400)


def problems(states: dict[str, dict]) -> list[str]:
    """What is wrong, one line each with its fix (empty: the cluster is healthy)."""
    found = []
    for name, s in states.items():
        if not s.get("reachable"):
            found.append(f"{name}: not reachable over SSH from this machine. Fix: start the node, or check the "
                         "network and the inventory's ssh_hostname/ssh_port")
            continue
        for unit, active in s["services"].items():
            if active != "active":
                found.append(f"{name}: {unit} is {active}. Fix: systemctl start {unit} (journalctl -u {unit} says why "
                             "it stopped)")
        if s["sysup"] != "QMUP":
            found.append(f"{name}: sysup.jsp through its own nginx answers {s['sysup']!r}, not QMUP. Fix: check "
                         "Tomcat's log and the database on that node")
        channel = (s["replication"] or {}).get("channel")
        if not s["replication"].get("running"):
            found.append(f"{name}: MariaDB does not answer. Fix: systemctl start mariadb")
        elif not channel:
            found.append(f"{name}: no replication channel from its peer. Fix: run the deploy")
        else:
            if (channel["io_running"], channel["sql_running"]) != ("Yes", "Yes"):
                error = channel["last_io_error"] or channel["last_sql_error"] or "no error recorded"
                found.append(f"{name}: replication from its peer: IO {channel['io_running']}, SQL "
                             f"{channel['sql_running']} ({error}). Fix: run the deploy; its preflight names the "
                             "repair (qm_db_resync) when the channel is broken")
            if not channel["ssl"]:
                found.append(f"{name}: replication from its peer does not use TLS. Fix: run the deploy")
        semi = (s["replication"] or {}).get("semi_sync") or {}
        if semi.get("enabled") and semi.get("master") is False:
            found.append(f"{name}: runs degraded (asynchronous): its commits do not wait for the peer, so a write "
                         "it acknowledges lives on this node alone until the peer has it. Fix: bring the peer's "
                         "replication back (this node waits again by itself once the peer has caught up)")
        for role, days in s["certificate_days"].items():
            if days is None:
                found.append(f"{name}: {role} presents no certificate this machine could read. Fix: check that "
                             f"{role} is running")
            elif days < CERT_WARN_DAYS:
                found.append(f"{name}: {role}'s certificate expires in {days} day(s). Fix: renew it and run the deploy")
        if (s.get("war") or {}).get("pending"):
            found.append(f"{name}: a new WAR is staged but not running (a roll-out left half done). Fix: run the "
                         "deploy again; it finishes the roll-out, one node at a time")
        backup = s.get("backup")
        if backup and not backup["ok"]:
            found.append(f"{name}: the last backup failed ({backup['at']}): {backup['detail']}. Fix: correct it (free "
                         "space or qm_backup_dir), then systemctl start qmha-backup.service (journalctl -t qmha-backup)")
        elif backup and backup["hours_ago"] > BACKUP_MAX_AGE_H:
            found.append(f"{name}: the last backup is {backup['hours_ago']:.0f} h old. Fix: systemctl list-timers "
                         "qmha-backup.timer; run the deploy to put the timer back")
        if s["free_mb"] is not None and s["free_mb"] < 2 * s.get("min_free_mb", 0):
            found.append(f"{name}: {s['free_mb']} MiB free where MariaDB keeps its data: its watchdog stops MariaDB "
                         f"below {s['min_free_mb']} MiB (qm_db_min_free_mb). Fix: free space (old backups, logs), or "
                         "grow the filesystem")
    found += floating_problems(states)
    shas = {s.get("properties_sha256") for s in states.values() if s.get("reachable")}
    if len(shas) > 1:
        found.append("configuration.properties differs between the nodes. Fix: wait a minute for the sync "
                     "(journalctl -t qmha-sync says what it did)")
    return found


def floating_problems(states: dict[str, dict]) -> list[str]:
    """A floating address held by no node (clients that resolve to it get nothing) or by both."""
    holders: dict[str, list[str]] = {}
    for name, s in states.items():
        if "floating_held" not in s:
            continue
        for address in s["floating_held"]:
            holders.setdefault(address, []).append(name)
    addresses = next((s["floating_addresses"] for s in states.values() if s.get("floating_addresses")), [])
    found = []
    for address in addresses:
        where = holders.get(address, [])
        if not where and all(s.get("reachable") for s in states.values()):
            found.append(f"floating address {address} is held by no node. Fix: systemctl restart keepalived on both "
                         "nodes (journalctl -u keepalived says why)")
        elif len(where) > 1:
            found.append(f"floating address {address} is held by both nodes ({', '.join(where)}). Fix: check that VRRP "
                         "passes between the nodes (the firewall lets it in from the peer), then restart keepalived")
    return found


def backup_line(backup: dict | None) -> str:
    if not backup:
        return "none yet (the first runs at qm_backup_time)"
    return f"{'ok' if backup['ok'] else 'FAILED'} {backup['at']} ({backup['hours_ago']:.0f} h ago): {backup['detail']}"


def commit_mode(semi: dict) -> str:
    """How this node's commits are acknowledged, from ``ReplicationStatus``' ``semi_sync``."""
    if semi.get("enabled") is None:
        return "asynchronous (this server has no semi-synchronous replication)"
    if not semi["enabled"]:
        return "asynchronous (qm_db_semi_sync is off)"
    if semi.get("master"):
        return "semi-synchronous: each waits for the peer's relay log"
    return "DEGRADED: asynchronous until the peer catches up"


def table(states: dict[str, dict]) -> str:
    rows = []
    for name, s in states.items():
        if not s.get("reachable"):
            rows.append(f"{name}: unreachable")
            continue
        ch = (s["replication"] or {}).get("channel") or {}
        rows += [
            f"{name}:",
            "  services      " + ", ".join(f"{u} {a}" for u, a in s["services"].items()),
            f"  sysup.jsp     {s['sysup']}",
            f"  replication   IO {ch.get('io_running', '-')}, SQL {ch.get('sql_running', '-')}, "
            f"{ch.get('seconds_behind', '-')} s behind, TLS {'yes' if ch.get('ssl') else 'no'}, from "
            f"{ch.get('master_host', '-')}; last error: {ch.get('last_io_error') or ch.get('last_sql_error') or '-'}",
            f"  position      {s['replication'].get('gtid_binlog_pos') or (s['replication'].get('master') or {})}",
            f"  commits       {commit_mode((s['replication'] or {}).get('semi_sync') or {})}",
            "  certificates  " + ", ".join(f"{r} {d if d is not None else '?'} days" for r, d in
                                           s["certificate_days"].items()),
            f"  free space    {s['free_mb']} MiB (data filesystem); binary logs kept {s['binlog_days']} days "
            "(a node away longer must be re-seeded)",
            f"  backup        {backup_line(s.get('backup'))}",
            *([f"  floating      holds {', '.join(s['floating_held']) or 'none'} of {', '.join(s['floating_addresses'])}"]
              if "floating_held" in s else []),
            f"  settings      configuration.properties {s['properties_sha256'][:12]}",
        ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    from .target import DrillCluster

    parser = argparse.ArgumentParser(prog="python -m drill.status", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inventory", help="the pyinfra inventory of the deployed cluster")
    parser.add_argument("--json", action="store_true", help="print the state and the problems as JSON")
    args = parser.parse_args(argv)
    try:
        cluster = DrillCluster.load(args.inventory)
    except RuntimeError as exc:  # ssh itself failed on a node
        print(f"status: a node is not reachable over SSH from this machine ({str(exc).strip()[:300]}). Fix: start "
              "the node, or check the network and the inventory's ssh_hostname/ssh_port", file=sys.stderr)
        return 1
    states = collect(cluster)
    found = problems(states)
    if args.json:
        print(json.dumps({"nodes": states, "problems": found}, indent=2, default=str))
    else:
        print(table(states))
        print("\n".join(["", "problems:", *(f"  - {p}" for p in found)]) if found else "\nno problems")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
