"""The drill's cases, and how one is run and judged.

A service case stops one unit on one node and starts it again; a node case takes the whole node
away (the lab's container stops; on real servers its services stop, or the operator powers it off).
Service cases must lose no request; no case may lose an acknowledged write.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from lab import docker

from operations.phases.app.tomcat import tomcat_for

from . import consistency

from .target import DrillCluster, DrillError, Node

WARMUP_S = 5.0
AFTER_S = 8.0


@dataclass
class Case:
    name: str
    node: Node
    service_level: bool
    inject: Callable[[], None]
    restore: Callable[[], None]


def _units(node: Node, role: str) -> list[str]:
    p = node.platform
    tomcat = tomcat_for(p, node.knobs.qm_app_mode)
    return {"nginx": [p.nginx.service], "tomcat": [tomcat.service],
            "database": [p.db_service]}[role]


def service_case(node: Node, role: str) -> Case:
    units = _units(node, role)
    # socket-activated units would start the service again on the next connection: stop them too
    sockets = [f"{u}.socket" for u in units if node.execute(f"systemctl is-active {u}.socket")[0] == 0]

    def inject():
        node.run(f"systemctl stop {' '.join(sockets + units)}")

    def restore():
        node.run(f"systemctl start {' '.join(units)}")
        if sockets:  # a socket unit refuses to listen while its service runs: best effort
            node.execute(f"systemctl start {' '.join(sockets)}")

    return Case(f"{role} stopped on {node.name}", node, True, inject, restore)


def node_case(cluster: DrillCluster, node: Node, mode: str) -> Case:
    if mode == "container":
        container = node.data["lab_container"]

        def inject():
            docker.run("stop", container, timeout=60)

        def restore():
            docker.run("start", container, timeout=60)
            docker.run("exec", container, "timeout", "120", "systemctl", "is-system-running", "--wait",
                       check=False, timeout=150)
    elif mode == "services":
        units = [u for role in ("nginx", "tomcat", "database") for u in _units(node, role)]

        def inject():
            node.run(f"systemctl stop {' '.join(units)}")

        def restore():
            node.run(f"systemctl start {' '.join(reversed(units))}")
    else:
        def inject():
            input(f"\n>>> Power off {node.name} ({node.address}) now, then press Enter: ")

        def restore():
            input(f">>> Power {node.name} on again, wait until it has booted, then press Enter: ")
    return Case(f"node {node.name} down", node, False, inject, restore)


def all_cases(cluster: DrillCluster, node_down: str) -> list[Case]:
    plan = []
    for node in cluster.nodes:
        plan += [service_case(node, role) for role in ("nginx", "tomcat", "database")]
        plan.append(node_case(cluster, node, node_down))
    return plan


def longest_gap(lines: list[dict], end: float) -> float:
    """Longest stretch (s) with no good answer: between two good answers, or to the run's end."""
    last_good, worst = 0.0, 0.0
    for line in lines:
        if line["ok"]:
            worst = max(worst, line["t"] - last_good)
            last_good = line["t"]
    return round(max(worst, end - last_good if lines and not lines[-1]["ok"] else 0.0), 2)


def catch_up(cluster: DrillCluster, node: Node, timeout: float = 120) -> float | None:
    """Seconds until NODE holds every probe row its peer held when NODE came back (None: not within TIMEOUT)."""
    start = time.monotonic()
    peer = cluster.other(node)
    wanted = None
    while time.monotonic() - start < timeout:
        try:
            wanted = wanted if wanted is not None else cluster.tokens_on(peer, "drill")
            if wanted <= cluster.tokens_on(node, "drill"):
                return round(time.monotonic() - start, 2)
        except DrillError:
            pass  # the node's database may still be starting
        time.sleep(0.2)
    return None


def missing_writes(cluster: DrillCluster, acked: set[str], prefix: str, timeout: float = 60) -> dict[str, int]:
    """Acknowledged writes absent from each node's database (waiting up to TIMEOUT for the last ones)."""
    deadline = time.monotonic() + timeout
    while True:
        missing = {n.name: len(acked - cluster.tokens_on(n, prefix)) for n in cluster.nodes}
        if not any(missing.values()) or time.monotonic() > deadline:
            return missing
        time.sleep(0.5)


def run_case(cluster: DrillCluster, case: Case, rate: float, hold: float) -> dict:
    prefix = f"drill{int(time.time())}{case.node.short_name}{case.name.split()[0]}"
    duration = WARMUP_S + hold + AFTER_S
    probe = cluster.start_probe(duration, rate, prefix)
    time.sleep(WARMUP_S)
    case.inject()
    time.sleep(hold)
    case.restore()
    caught_up_s = catch_up(cluster, case.node)
    lines = probe.wait(timeout=duration + 60)
    try:
        cluster.wait_healthy(timeout=240)
        healthy = True
    except DrillError:
        healthy = False
    acked = {line["token"] for line in lines if line["kind"] == "write" and line["ok"]}
    missing = missing_writes(cluster, acked, prefix)
    failed = sum(1 for line in lines if not line["ok"])
    differing = [r.table for r in consistency.cluster_compare(cluster) if not r.equal] if healthy else ["(not checked)"]
    passed = (healthy and not any(missing.values()) and caught_up_s is not None and bool(lines)
              and (failed == 0 or not case.service_level) and not differing)
    return {
        "case": case.name,
        "service_level": case.service_level,
        "requests": len(lines),
        "failed": failed,
        "longest_outage_s": longest_gap(lines, duration),
        "writes_acked": len(acked),
        "writes_missing": missing,
        "catch_up_s": caught_up_s,
        "healthy_after": healthy,
        "tables_differing": differing,
        "served_by": sorted({line.get("app", "-") for line in lines if line["ok"]}),
        "passed": passed,
    }
