"""Replication lag of the lab pair under write load, and a stopped node's catch-up time.

    LAB_PREFIX=... QMHA_LAB_STATE=... python bench/replication_lag.py [--rate 200] [--seconds 60]

1. Both nodes take RATE inserts/s each for SECONDS; a watcher per node polls the *other* node for
   the rows (every 5 ms) and records, per row, seen-on-peer minus committed-on-origin (one clock:
   this machine's). Prints p50/p99/max lag per direction.
2. Node B's MariaDB is stopped; node A keeps taking RATE inserts/s for SECONDS; B is started and
   the time until B holds every row A committed is printed (from the start command, and from B
   answering SQL).

The bench logs in with a temporary account made for this machine's address on each node
(node-local, dropped at the end) and a table ``queuemetrics.qmha_bench`` (dropped at the end). The
cluster's firewall lets only the peer reach MariaDB: while the bench runs, each node's ``inet qmha``
table holds one more rule accepting this machine's address on the lab network for the database port,
removed by its handle at the end (a rule left by an interrupted run is removed at the next start).
3. Commit latency on node A as deployed (semi-synchronous) next to the asynchronous floor (A's
   semi-sync switched off for that run).
4. A silent partition (node A drops every packet to and from node B for 10 s) under writes on both
   nodes: the time from the link's return until both hold every row.

Not a test: it prints figures. ``bench/run.py`` imports the phases.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import secrets
import statistics
import sys
import threading
import time
from pathlib import Path

import pymysql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drill.prober import paced  # noqa: E402
from lab import containers, docker, faults  # noqa: E402

TABLE = "queuemetrics.qmha_bench"
USER = "qmha_bench"
DB_PORT = 3306
HOLE_COMMENT = "qmha-bench: this machine, while the bench runs"


def node_sql(container: str, sql: str) -> str:
    proc = docker.run("exec", "-i", container, "mariadb", "-NB", check=False, timeout=120, input=sql)
    if proc.returncode != 0:
        raise SystemExit(f"{container}: {proc.stderr.strip()}")
    return proc.stdout


def control_address(cfg: containers.LabConfig) -> str:
    net = docker.inspect("network", cfg.network) or {}
    for conf in (net.get("IPAM") or {}).get("Config") or []:
        if conf.get("Gateway"):
            return conf["Gateway"]
    import ipaddress
    return str(ipaddress.ip_network(cfg.subnet)[1])


def connect(address: str, password: str):
    return pymysql.connect(host=address, user=USER, password=password, autocommit=True, connect_timeout=5,
                           read_timeout=30, write_timeout=30)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Writer(threading.Thread):
    def __init__(self, address, password, origin, rate, seconds):
        super().__init__(daemon=True)
        self.address, self.password, self.origin, self.rate, self.seconds = address, password, origin, rate, seconds
        self.committed: dict[int, float] = {}
        #: how long each commit took (s)
        self.latencies: list[float] = []
        self.errors = 0

    def run(self):
        conn = connect(self.address, self.password)
        cur = conn.cursor()
        for _ in paced(self.rate, int(self.rate * self.seconds), time.monotonic()):
            started = time.monotonic()
            try:
                cur.execute(f"INSERT INTO {TABLE} (origin) VALUES (%s)", (self.origin,))
                self.committed[cur.lastrowid] = time.monotonic()
                self.latencies.append(self.committed[cur.lastrowid] - started)
            except pymysql.MySQLError:
                self.errors += 1
        conn.close()


class Watcher(threading.Thread):
    """Polls ADDRESS for rows of ORIGIN and records when each id is first seen."""

    def __init__(self, address, password, origin, stop: threading.Event):
        super().__init__(daemon=True)
        self.address, self.password, self.origin, self.stop_event = address, password, origin, stop
        self.seen: dict[int, float] = {}

    def run(self):
        conn = connect(self.address, self.password)
        cur = conn.cursor()
        last = 0
        while not self.stop_event.is_set():
            cur.execute(f"SELECT id FROM {TABLE} WHERE origin = %s AND id > %s ORDER BY id", (self.origin, last))
            now = time.monotonic()
            for (row_id,) in cur.fetchall():
                self.seen.setdefault(row_id, now)
                last = max(last, row_id)
            time.sleep(0.005)
        conn.close()


def lag_phase(nodes, password, rate, seconds):
    stop = threading.Event()
    writers = {n["name"]: Writer(n["address"], password, n["name"], rate, seconds) for n in nodes}
    watchers = {}
    for n, peer in ((nodes[0], nodes[1]), (nodes[1], nodes[0])):
        watchers[n["name"]] = Watcher(peer["address"], password, n["name"], stop)
    for t in [*watchers.values(), *writers.values()]:
        t.start()
    for w in writers.values():
        w.join(timeout=seconds + 60)
    time.sleep(2)
    stop.set()
    for w in watchers.values():
        w.join(timeout=10)
    figures = {}
    for name, writer in writers.items():
        seen = watchers[name].seen
        lags = [seen[i] - t for i, t in writer.committed.items() if i in seen]
        figures[name] = {
            "rows": len(lags), "missing": len(writer.committed) - len(lags), "write_errors": writer.errors,
            "achieved_per_s": round(len(writer.committed) / seconds, 1),
            "p50_ms": round(statistics.median(lags) * 1000, 1) if lags else None,
            "p99_ms": round(percentile(lags, 0.99) * 1000, 1) if lags else None,
            "max_ms": round(max(lags) * 1000, 1) if lags else None,
        }
    return figures


def print_lag(figures: dict, rate: float, seconds: float) -> None:
    print(f"lag while both nodes take {rate:g} inserts/s for {seconds:g} s (one clock, 5 ms polling):")
    for name, f in figures.items():
        if not f["rows"]:
            print(f"  {name} -> peer: no row seen")
            continue
        print(f"  {name} -> peer: {f['rows']} rows, p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms, "
              f"max {f['max_ms']:.1f} ms, missing {f['missing']}, write errors {f['write_errors']}, "
              f"achieved {f['achieved_per_s']:.0f}/s")


def catch_up_phase(cfg, nodes, password, rate, seconds) -> dict:
    """Stop B's MariaDB, write RATE/s on A for SECONDS, start B; figures of B catching up."""
    a, b = nodes
    b_container = b["container"]
    docker.run("exec", b_container, "systemctl", "stop", "mariadb", timeout=120)
    try:
        writer = Writer(a["address"], password, a["name"] + "-solo", rate, seconds)
        writer.start()
        writer.join(timeout=seconds + 60)
        target = max(writer.committed)
    finally:
        started = time.monotonic()
        docker.run("exec", b_container, "systemctl", "start", "mariadb", timeout=120)
    figures = {"stopped": b["name"], "writer": a["name"], "rows": len(writer.committed), "caught_up": False}
    answering = None
    conn = None
    deadline = started + 300
    while time.monotonic() < deadline:
        try:
            if conn is None:
                conn = connect(b["address"], password)
                answering = time.monotonic()
            cur = conn.cursor()
            cur.execute(f"SELECT COUNT(*) FROM {TABLE} WHERE id = %s", (target,))
            if cur.fetchone()[0]:
                done = time.monotonic()
                conn.close()
                figures.update(caught_up=True, after_start_s=round(done - started, 2),
                               start_s=round(answering - started, 2), after_sql_s=round(done - answering, 2))
                return figures
        except pymysql.MySQLError:
            conn = None
        time.sleep(0.02)
    return figures


def _commit_times(address: str, password: str, origin: str, count: int) -> list[float]:
    conn = connect(address, password)
    cur = conn.cursor()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        cur.execute(f"INSERT INTO {TABLE} (origin) VALUES (%s)", (origin,))
        times.append(time.perf_counter() - started)
    conn.close()
    return times


def _ms(values: list[float], q: float) -> float:
    return round(percentile(values, q) * 1000, 2)


def commit_latency_phase(nodes, password, count: int = 300) -> dict:
    """COUNT one-row commits in a row on node A from this machine, as deployed (semi-synchronous where
    the server has it), then with A's semi-sync switched off for the run (the asynchronous floor)."""
    a = nodes[0]
    enabled = node_sql(a["container"], "SELECT @@rpl_semi_sync_master_enabled").strip() == "1"

    def counters() -> dict:
        return {k: int(v) for k, v in (line.split("\t") for line in node_sql(
            a["container"], "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_%tx'").splitlines() if "\t" in line)}

    before = counters()
    deployed = _commit_times(a["address"], password, "commit-semi", count)
    after = counters()
    status = {k: after[k] - before.get(k, 0) for k in after}
    node_sql(a["container"], "SET GLOBAL rpl_semi_sync_master_enabled = OFF")
    try:
        floor = _commit_times(a["address"], password, "commit-async", count)
    finally:
        if enabled:
            node_sql(a["container"], "SET GLOBAL rpl_semi_sync_master_enabled = ON")
    return {"node": a["name"], "count": count, "semi_sync": enabled,
            "p50_ms": _ms(deployed, 0.5), "p99_ms": _ms(deployed, 0.99),
            "async_p50_ms": _ms(floor, 0.5), "async_p99_ms": _ms(floor, 0.99),
            "acknowledged_tx": int(status.get("Rpl_semi_sync_master_yes_tx", 0)),
            "unacknowledged_tx": int(status.get("Rpl_semi_sync_master_no_tx", 0))}


def print_commit_latency(f: dict) -> None:
    mode = "semi-synchronous" if f["semi_sync"] else "asynchronous (no semi-sync on this server)"
    print(f"commit latency on {f['node']}, {f['count']} one-row commits in a row from this machine:")
    print(f"  as deployed ({mode}): p50 {f['p50_ms']:.2f} ms, p99 {f['p99_ms']:.2f} ms "
          f"({f['acknowledged_tx']} of them acknowledged by the peer, {f['unacknowledged_tx']} not)")
    print(f"  asynchronous floor: p50 {f['async_p50_ms']:.2f} ms, p99 {f['async_p99_ms']:.2f} ms")


def partition_phase(nodes, password, hold: float = 10, rate: float = 20) -> dict:
    """Both nodes take RATE inserts/s from this machine while node A drops every packet to and from
    node B for HOLD seconds (a silent partition); then the time from the link's return until each
    node holds every row the other committed, and the longest commit meanwhile (one semi-sync
    timeout, where the server has semi-sync)."""
    a, b = nodes
    tag = secrets.token_hex(4)
    writers = [Writer(n["address"], password, f"part-{tag}-{n['name']}", rate, hold + 6) for n in nodes]
    for w in writers:
        w.start()
    time.sleep(2)
    with faults.partition(a["container"], b["address"]):
        time.sleep(hold)
    back = time.monotonic()
    for w in writers:
        w.join(timeout=hold + 60)
    figures = {"hold_s": hold, "rate_per_node": rate, "healed": False,
               "rows": {w.origin: len(w.committed) for w in writers},
               "write_errors": sum(w.errors for w in writers),
               "longest_commit_s": round(max((max(w.latencies) for w in writers if w.latencies), default=0), 2)}
    conns = {n["name"]: connect(n["address"], password) for n in nodes}
    deadline = back + 120
    while time.monotonic() < deadline:
        held = {}
        for name, conn in conns.items():
            cur = conn.cursor()
            cur.execute(f"SELECT COUNT(*) FROM {TABLE} WHERE origin LIKE %s", (f"part-{tag}-%",))
            held[name] = cur.fetchone()[0]
        if all(count == sum(figures["rows"].values()) for count in held.values()):
            figures.update(healed=True, healed_after_s=round(time.monotonic() - back, 2))
            break
        time.sleep(0.05)
    for conn in conns.values():
        conn.close()
    return figures


def print_partition(f: dict) -> None:
    print(f"partition: node A drops every packet to and from node B for {f['hold_s']:g} s while both take "
          f"{f['rate_per_node']:g} inserts/s")
    if not f["healed"]:
        print("  the nodes did not hold each other's rows within 120 s of the link's return")
        return
    print(f"  every row on both nodes {f['healed_after_s']:.2f} s after the link came back "
          f"({sum(f['rows'].values())} rows, {f['write_errors']} write errors; longest commit meanwhile "
          f"{f['longest_commit_s']:.2f} s)")


def print_catch_up(f: dict, rate: float, seconds: float) -> None:
    print(f"catch-up: {f['stopped']}'s MariaDB stopped while {f['writer']} takes {rate:g} inserts/s "
          f"for {seconds:g} s")
    if not f["caught_up"]:
        print(f"  {f['stopped']} did not catch up within 300 s")
        return
    print(f"  {f['rows']} rows written meanwhile; {f['stopped']} holds them all {f['after_start_s']:.2f} s "
          f"after `systemctl start` (start took {f['start_s']:.2f} s; {f['after_sql_s']:.2f} s after it "
          f"answered SQL)")


def _nft(container: str, *args: str, check: bool = True) -> str:
    proc = docker.run("exec", container, "nft", *args, check=False, timeout=30)
    if check and proc.returncode != 0:
        raise SystemExit(f"{container}: nft {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout if proc.returncode == 0 else ""


def _bench_rule_handles(container: str) -> list[str]:
    listing = _nft(container, "-a", "list", "chain", "inet", "qmha", "input", check=False)
    return [m.group(1) for line in listing.splitlines() if HOLE_COMMENT in line
            for m in [re.search(r"# handle (\d+)\s*$", line)] if m]


@contextlib.contextmanager
def firewall_hole(nodes, address: str, port: int = DB_PORT):
    """Each node's firewall also accepts ADDRESS on PORT until the block ends (nothing to do without it)."""
    opened = []
    try:
        for n in nodes:
            container = n["container"]
            for handle in _bench_rule_handles(container):  # left by an interrupted run
                _nft(container, "delete", "rule", "inet", "qmha", "input", "handle", handle, check=False)
            if not _nft(container, "list", "table", "inet", "qmha", check=False):
                continue  # no cluster firewall on this node
            out = _nft(container, "--echo", "--handle", "insert", "rule", "inet", "qmha", "input",
                       "ip", "saddr", address, "tcp", "dport", str(port), "accept", "comment", f'"{HOLE_COMMENT}"')
            m = re.search(r"# handle (\d+)", out)
            if not m:
                raise SystemExit(f"{container}: nft gave no handle for the bench rule: {out.strip()}")
            opened.append((container, m.group(1)))
        yield
    finally:
        for container, handle in opened:
            _nft(container, "delete", "rule", "inet", "qmha", "input", "handle", handle, check=False)


@contextlib.contextmanager
def session(cfg: containers.LabConfig, nodes):
    """The bench's table, per-node accounts for this machine and firewall holes; yields the password."""
    password = secrets.token_hex(16)
    me = control_address(cfg)
    account = f"'{USER}'@'{me}'"
    setup = (f"SET sql_log_bin = 0; DROP USER IF EXISTS {account}; "
             f"CREATE USER {account} IDENTIFIED BY '{password}'; GRANT SELECT, INSERT ON {TABLE} TO {account};")
    with firewall_hole(nodes, me):
        try:
            node_sql(nodes[0]["container"], f"CREATE TABLE IF NOT EXISTS {TABLE} (id BIGINT AUTO_INCREMENT "
                                            "PRIMARY KEY, origin VARCHAR(32) NOT NULL, KEY (origin, id)) "
                                            "ENGINE=InnoDB;")
            time.sleep(1)
            for n in nodes:
                node_sql(n["container"], setup)
            yield password
        finally:
            for n in nodes:
                with contextlib.suppress(SystemExit):
                    node_sql(n["container"], f"SET sql_log_bin = 0; DROP USER IF EXISTS {account};")
            with contextlib.suppress(SystemExit):
                node_sql(nodes[0]["container"], f"DROP TABLE IF EXISTS {TABLE};")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200, help="inserts per second on each node")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--skip-catch-up", action="store_true")
    args = parser.parse_args()
    cfg = containers.LabConfig.from_env()
    nodes = containers.state_dict(cfg)["nodes"]
    with session(cfg, nodes) as password:
        print_lag(lag_phase(nodes, password, args.rate, args.seconds), args.rate, args.seconds)
        if not args.skip_catch_up:
            print_catch_up(catch_up_phase(cfg, nodes, password, args.rate, args.seconds), args.rate, args.seconds)
        print_commit_latency(commit_latency_phase(nodes, password))
        print_partition(partition_phase(nodes, password))
    return 0

if __name__ == "__main__":
    sys.exit(main())
