"""Replication lag of the lab pair under write load, and a stopped node's catch-up time.

    LAB_PREFIX=... QMHA_LAB_STATE=... python bench/replication_lag.py [--rate 200] [--seconds 60]

1. Both nodes take RATE inserts/s each for SECONDS; a watcher per node polls the *other* node for
   the rows (every 5 ms) and records, per row, seen-on-peer minus committed-on-origin (one clock:
   this machine's). Prints p50/p99/max lag per direction.
2. Node B's MariaDB is stopped; node A keeps taking RATE inserts/s for SECONDS; B is started and
   the time until B holds every row A committed is printed (from the start command, and from B
   answering SQL).

The bench logs in with a temporary account made for this machine's address on each node
(node-local, dropped at the end) and a table ``queuemetrics.qmha_bench`` (dropped at the end).
Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import threading
import time
from pathlib import Path

import pymysql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab import cluster, docker  # noqa: E402

TABLE = "queuemetrics.qmha_bench"
USER = "qmha_bench"


def node_sql(container: str, sql: str) -> str:
    proc = docker.run("exec", "-i", container, "mariadb", "-NB", check=False, timeout=120, input=sql)
    if proc.returncode != 0:
        raise SystemExit(f"{container}: {proc.stderr.strip()}")
    return proc.stdout


def control_address(cfg: cluster.LabConfig) -> str:
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
        start = time.monotonic()
        n = int(self.rate * self.seconds)
        for i in range(n):
            due = start + i / self.rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
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
    print(f"lag while both nodes take {rate} inserts/s for {seconds} s (one clock, 5 ms polling):")
    for name, writer in writers.items():
        seen = watchers[name].seen
        lags = [seen[i] - t for i, t in writer.committed.items() if i in seen]
        missing = len(writer.committed) - len(lags)
        if not lags:
            print(f"  {name} -> peer: no row seen")
            continue
        print(f"  {name} -> peer: {len(lags)} rows, p50 {statistics.median(lags) * 1000:.1f} ms, "
              f"p99 {percentile(lags, 0.99) * 1000:.1f} ms, max {max(lags) * 1000:.1f} ms, "
              f"missing {missing}, write errors {writer.errors}, achieved {len(writer.committed) / seconds:.0f}/s")


def catch_up_phase(cfg, nodes, password, rate, seconds):
    a, b = nodes
    b_container = b["container"]
    print(f"catch-up: {b['name']}'s MariaDB stopped while {a['name']} takes {rate} inserts/s for {seconds} s")
    docker.run("exec", b_container, "systemctl", "stop", "mariadb", timeout=120)
    try:
        writer = Writer(a["address"], password, a["name"] + "-solo", rate, seconds)
        writer.start()
        writer.join(timeout=seconds + 60)
        target = max(writer.committed)
    finally:
        started = time.monotonic()
        docker.run("exec", b_container, "systemctl", "start", "mariadb", timeout=120)
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
                print(f"  {len(writer.committed)} rows written meanwhile; {b['name']} holds them all "
                      f"{done - started:.2f} s after `systemctl start` (start took {answering - started:.2f} s; "
                      f"{done - answering:.2f} s after it answered SQL)")
                conn.close()
                return
        except pymysql.MySQLError:
            conn = None
        time.sleep(0.02)
    print(f"  {b['name']} did not catch up within 300 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200, help="inserts per second on each node")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--skip-catch-up", action="store_true")
    args = parser.parse_args()
    cfg = cluster.LabConfig.from_env()
    state = cluster.state_dict(cfg)
    nodes = state["nodes"]
    password = secrets.token_hex(16)
    me = control_address(cfg)
    account = f"'{USER}'@'{me}'"
    setup = (f"SET sql_log_bin = 0; DROP USER IF EXISTS {account}; "
             f"CREATE USER {account} IDENTIFIED BY '{password}'; GRANT SELECT, INSERT ON {TABLE} TO {account};")
    node_sql(nodes[0]["container"], f"CREATE TABLE IF NOT EXISTS {TABLE} (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
                                    "origin VARCHAR(32) NOT NULL, KEY (origin, id)) ENGINE=InnoDB;")
    time.sleep(1)
    for n in nodes:
        node_sql(n["container"], setup)
    try:
        lag_phase(nodes, password, args.rate, args.seconds)
        if not args.skip_catch_up:
            catch_up_phase(cfg, nodes, password, args.rate, args.seconds)
    finally:
        for n in nodes:
            node_sql(n["container"], f"SET sql_log_bin = 0; DROP USER IF EXISTS {account};")
        node_sql(nodes[0]["container"], f"DROP TABLE IF EXISTS {TABLE};")
    return 0


if __name__ == "__main__":
    sys.exit(main())
