"""The drill's cases, and how one is run and judged.

A service case stops, crashes or hangs one service on one node (or cuts the nodes off from each
other) and brings it back; a node case takes the whole node away (stopped, frozen, its power cut)
and brings it back. Service cases must fail no request; no case may lose an acknowledged write, and
a node case must find every write the node acknowledged on its peer while the node is away (a node
that never comes back loses nothing). Cases that need the lab's hands (freeze, power cut, partition)
run in the lab only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lab import docker, faults

from operations.phases.app.tomcat import tomcat_for

from . import consistency

from .target import DrillCluster, DrillError, Node

WARMUP_S = 5.0
AFTER_S = 8.0
#: how often the lab looks at who holds a floating address (each look is one ``docker exec``)
ADDRESS_POLL_S = 0.25
#: after a node case in a floating lab the probe runs on this long: a node that was powered off boots,
#: passes its web check and takes its address back within it, under the probe's eyes
HOMECOMING_S = 40.0


@dataclass
class Case:
    name: str
    node: Node
    service_level: bool
    inject: Callable[[], None]
    restore: Callable[[], None]
    #: inject just after the node acknowledged a write (what it did not pass on would be lost)
    after_ack: bool = False


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


def database_crash_case(node: Node) -> Case:
    """The database killed (SIGKILL) under load; its unit restarts it (``Restart=on-abort``)."""
    unit = node.platform.db_service

    def inject():
        node.run(f"systemctl kill --signal=KILL {unit}")

    def restore():
        node.run(f"systemctl start {unit}")  # a no-op once systemd has restarted it

    return Case(f"database crashed on {node.name}", node, True, inject, restore, after_ack=True)


def database_hang_case(node: Node) -> Case:
    """The database frozen (SIGSTOP): its port still accepts connections, nothing answers."""
    unit = node.platform.db_service

    def inject():
        node.run(f"systemctl kill --signal=STOP {unit}")

    def restore():
        node.run(f"systemctl kill --signal=CONT {unit}")

    return Case(f"database hung on {node.name}", node, True, inject, restore)


def partition_case(cluster: DrillCluster, node: Node) -> Case:
    """NODE and its peer lose each other silently (every packet dropped); both keep serving clients."""
    container, peer = node.data["lab_container"], cluster.other(node).address
    return Case(f"{node.name} cut off from its peer", node, True,
                lambda: faults.cut_link(container, peer), lambda: faults.restore_link(container))


def disk_full_case(node: Node) -> Case:
    """The filesystem holding the node's database full to the last byte, then freed."""
    container, data_dir = node.data["lab_container"], node.platform.db_data_dir
    return Case(f"data disk full on {node.name}", node, True,
                lambda: faults.fill_disk(container, data_dir), lambda: faults.free_disk(container, data_dir))


def freeze_case(node: Node) -> Case:
    container = node.data["lab_container"]
    return Case(f"node {node.name} frozen", node, False,
                lambda: faults.freeze(container), lambda: faults.thaw(container))


def power_cut_case(node: Node) -> Case:
    """The node gone at once, just after it acknowledged a write: judged on the survivor."""
    container = node.data["lab_container"]
    return Case(f"node {node.name} power cut", node, False,
                lambda: faults.power_cut(container), lambda: faults.power_on(container), after_ack=True)


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
        plan += [database_crash_case(node), database_hang_case(node)]
        if cluster.is_lab:
            plan += [partition_case(cluster, node), disk_full_case(node)]
        plan.append(node_case(cluster, node, node_down))
        if cluster.is_lab:
            plan += [freeze_case(node), power_cut_case(node)]
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


def acked(lines: list[dict]) -> set[str]:
    return {line["token"] for line in lines if line["kind"] == "write" and line["ok"]}


def wait_for_ack(lines: list[dict], node: Node, timeout: float = 10) -> None:
    """Return just after the probe saw a write acknowledged by NODE's database (bounded)."""
    seen = len(lines)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(line["kind"] == "write" and line["ok"] and line.get("db") == node.short_name
               for line in lines[seen:]):
            return
        time.sleep(0.02)


def lost_while_away(cluster: DrillCluster, node: Node, lines: list[dict], prefix: str,
                    timeout: float = 10) -> int | None:
    """Writes acknowledged so far that the survivor lacks while NODE is away (None: it cannot be asked)."""
    survivor = cluster.other(node)
    wanted = acked(list(lines))
    deadline = time.monotonic() + timeout
    while True:
        try:
            missing = len(wanted - cluster.tokens_on(survivor, prefix))
        except DrillError:
            missing = None
        if missing == 0 or time.monotonic() > deadline:
            return missing
        time.sleep(0.5)


@dataclass
class AddressWatch:
    """In a floating lab: when the peer took the away node's address, and when it gave it back.

    Polls the peer's ``eth0`` from the lab machine every ADDRESS_POLL_S until stopped (bounded by
    LIMIT looks). Times are seconds since T0 (``time.monotonic()``), as the drill's timeline.

    Example: ``watch = AddressWatch(peer_container, "10.0.0.21", t0).start(); ...; watch.stop()``
    """

    container: str
    address: str
    t0: float
    limit: int = 2400
    looks: list[tuple[float, bool]] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _held(self) -> bool | None:
        proc = docker.run("exec", self.container, "ip", "-4", "-o", "addr", "show", "eth0", check=False, timeout=10)
        return None if proc.returncode != 0 else f" {self.address}/" in proc.stdout

    def _run(self) -> None:
        for _ in range(self.limit):
            if self._stop.is_set():
                return
            held = self._held()
            if held is not None:
                self.looks.append((round(time.monotonic() - self.t0, 2), held))
            self._stop.wait(ADDRESS_POLL_S)

    def start(self) -> "AddressWatch":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def moves(self, injected: float, restored: float) -> dict:
        """{"address_moved": first look after INJECTED with the peer holding it, "address_back": first
        look after RESTORED with the peer no longer holding it}; None where it did not happen."""
        moved = next((t for t, held in self.looks if t >= injected and held), None)
        back = next((t for t, held in self.looks if t >= restored and not held), None)
        return {"address_moved": moved, "address_back": back}


def home_address(cluster: DrillCluster, case: Case) -> str | None:
    """The away node's own floating address, for node cases in a floating lab (None otherwise)."""
    addresses = case.node.knobs.qm_floating_addresses
    if case.service_level or not cluster.is_lab or not addresses:
        return None
    return addresses[cluster.nodes.index(case.node)]


def failed_requests(lines: list[dict]) -> list[list[float]]:
    """[[sent, ended], ...] (seconds since the probe started) of every request that failed."""
    return [[round(line["t"] - line.get("ms", 0) / 1000, 3), line["t"]] for line in lines if not line["ok"]]


def failures_while_settled(timeline: dict, slack: float) -> list[list[float]]:
    """The failed requests of a floating-address node case that no address move explains.

    A request can fail when it was sent before the peer took the away node's address (it went to
    the dead or frozen node) or while the address went home (the peer dropped it under a request in
    flight, or a packet left for the peer just after). Any other failure (address settled on the
    peer, or home again) is one the floating mode should not cost. SLACK (s) covers the watch's
    poll interval and the probe's clock starting a little after the drill's.

    >>> failures_while_settled({"failed": [[3.0, 8.0], [9.0, 9.1]], "address_moved": 6.5,
    ...                         "restored": 15.0, "address_back": 15.3}, 0.5)
    [[9.0, 9.1]]
    """
    moved, back, restored = timeline["address_moved"], timeline["address_back"], timeline["restored"]
    return [f for f in timeline["failed"]
            if not (f[0] <= moved + slack or restored - slack <= f[0] <= back + slack)]


def case_prefix(case: Case) -> str:
    """A token prefix of letters and digits only, new for every run of every case."""
    words = "".join(w[:3] for w in case.name.replace(case.node.name, "").split())
    return f"drill{int(time.time())}{case.node.short_name.replace('-', '')}{words}"


def run_case(cluster: DrillCluster, case: Case, rate: float, hold: float) -> dict:
    prefix = case_prefix(case)
    home = home_address(cluster, case)
    duration = WARMUP_S + hold + (HOMECOMING_S if home else AFTER_S)
    probe = cluster.start_probe(duration, rate, prefix)
    t0 = time.monotonic()  # the probe's clock starts a fraction of a second later: the figure's marks are that early
    watch = AddressWatch(cluster.other(case.node).data["lab_container"], home, t0).start() if home else None
    time.sleep(WARMUP_S)
    if case.after_ack:
        wait_for_ack(probe.lines, case.node)
    injected_t = time.monotonic() - t0
    case.inject()
    time.sleep(hold)
    away_lost = None if case.service_level else lost_while_away(cluster, case.node, probe.lines, prefix)
    restored_t = time.monotonic() - t0
    case.restore()
    caught_up_s = catch_up(cluster, case.node)
    caught_up_t = time.monotonic() - t0 if caught_up_s is not None else None
    lines = probe.wait(timeout=duration + 60)
    if watch:
        watch.stop()
    try:
        cluster.wait_healthy(timeout=240)
        healthy = True
    except DrillError:
        healthy = False
    writes = acked(lines)
    missing = missing_writes(cluster, writes, prefix)
    failed = sum(1 for line in lines if not line["ok"])
    differing = [r.table for r in consistency.cluster_compare(cluster) if not r.equal] if healthy else ["(not checked)"]
    passed = (healthy and not any(missing.values()) and caught_up_s is not None and bool(lines)
              and (failed == 0 or not case.service_level) and not differing
              and (case.service_level or away_lost == 0))
    return {
        "case": case.name,
        "service_level": case.service_level,
        "requests": len(lines),
        "failed": failed,
        "longest_outage_s": longest_gap(lines, duration),
        "writes_acked": len(writes),
        "writes_missing": missing,
        "lost_while_away": away_lost,
        "catch_up_s": caught_up_s,
        "healthy_after": healthy,
        "tables_differing": differing,
        "served_by": sorted({line.get("app", "-") for line in lines if line["ok"]}),
        "passed": passed,
        # for the figure: seconds since the probe started
        "timeline": {"requests": [[line["t"], line["ok"], line["kind"] == "write"] for line in lines],
                     "injected": round(injected_t, 2), "restored": round(restored_t, 2),
                     "caught_up": None if caught_up_t is None else round(caught_up_t, 2),
                     "failed": failed_requests(lines),
                     **(watch.moves(round(injected_t, 2), round(restored_t, 2)) if watch else {})},
    }
