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
Not a test: it prints figures. ``bench/run.py`` imports ``session``, ``lag_phase`` and ``catch_up_phase``.
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
from lab import containers, docker  # noqa: E402

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
        self.errors = 0

    def run(self):
        conn = connect(self.address, self.password)
        cur = conn.cursor()
        for _ in paced(self.rate, int(self.rate * self.seconds), time.monotonic()):
            try:
                cur.execute(f"INSERT INTO {TABLE} (origin) VALUES (%s)", (self.origin,))
                self.committed[cur.lastrowid] = time.monotonic()
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
    return 0

if __name__ == "__main__":
    sys.exit(main())
