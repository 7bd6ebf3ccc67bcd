"""Are the two databases the same? Table by table, at a point both nodes have reached.

    python -m drill.consistency inventories/mycompany.py [--json FILE]    # make check: the lab

Each round first lets each node catch up with the other's own writes (``MASTER_GTID_WAIT`` on the
other node's own GTID domain; on a server without GTID, until its channel is 0 seconds behind), then
takes ``CHECKSUM TABLE`` of every table of the QueueMetrics database on both nodes. A table whose
checksums differ may only have changed while it was compared (the cluster keeps taking writes): it
is compared again, up to ``ATTEMPTS`` rounds. A table still different after them, or present on one
node only, is named, and the command exits 1. Checksums are only comparable between equal server
versions, which a cluster's two nodes are.

Example:

.. code:: python

    from drill.consistency import compare
    compare(["t1", "t2"], settle=lambda: None, checksums={"node-a": fetch_a, "node-b": fetch_b})
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

#: rounds a differing table is compared again before it is named
ATTEMPTS = 4
#: seconds each node may take to reach the other's position, per round
SETTLE_S = 30


@dataclass
class TableResult:
    table: str
    equal: bool
    #: node -> its last checksum (None: the table is not on that node)
    checksums: dict[str, int | None] = field(default_factory=dict)
    attempts: int = 0


def compare(tables: list[str], settle: Callable[[], None], checksums: dict[str, Callable[[list[str]], dict]],
            attempts: int = ATTEMPTS) -> list[TableResult]:
    """Compare TABLES on the nodes of CHECKSUMS (node -> function giving {table: checksum or None}
    for a list of tables), each round after SETTLE(); a differing table is compared again, up to
    ATTEMPTS rounds. The result, one per table, in the order of TABLES."""
    results = {t: TableResult(t, equal=False) for t in tables}
    pending = list(tables)
    for round_ in range(1, attempts + 1):
        if not pending:
            break
        settle()
        seen = {node: fetch(pending) for node, fetch in checksums.items()}
        still = []
        for table in pending:
            values = {node: seen[node].get(table) for node in seen}
            result = results[table]
            result.checksums, result.attempts = values, round_
            result.equal = len(set(values.values())) == 1 and None not in values.values()
            if not result.equal:
                still.append(table)
        pending = still
    return [results[t] for t in tables]


def own_position(gtid_binlog_pos: str, domain_id: int) -> str:
    """The part of a node's ``gtid_binlog_pos`` in its own domain (what its peer applies from it)."""
    return ",".join(g for g in (gtid_binlog_pos or "").split(",") if g.strip().startswith(f"{domain_id}-"))


def parse_checksums(rows: list[list[str]], database: str) -> dict[str, int | None]:
    """``CHECKSUM TABLE`` rows (``db.table``, checksum or NULL when the table does not exist)."""
    result = {}
    for row in rows:
        if len(row) >= 2:
            name = row[0].split(".", 1)[1] if row[0].startswith(f"{database}.") else row[0]
            result[name] = int(row[1]) if re.fullmatch(r"\d+", row[1] or "") else None
    return result


# ---------------------------------------------------------------- against a deployed cluster


def cluster_compare(cluster, attempts: int = ATTEMPTS) -> list[TableResult]:
    """Compare the QueueMetrics database of CLUSTER's two nodes (a ``drill.target.DrillCluster``)."""
    database = cluster.db_name
    a, b = cluster.nodes

    def tables_of(node) -> set[str]:
        return {r[0] for r in node.sql(f"SELECT table_name FROM information_schema.tables "
                                       f"WHERE table_schema = '{database}' AND table_type = 'BASE TABLE'")}

    tables = sorted(tables_of(a) | tables_of(b))

    def settle() -> None:
        for source, replica in ((a, b), (b, a)):
            row = source.sql("SELECT @@gtid_domain_id, @@gtid_binlog_pos")[0] if _gtid(source) else None
            if row:
                position = own_position(row[1], int(row[0]))
                if position:
                    replica.sql(f"SELECT MASTER_GTID_WAIT('{position}', {SETTLE_S})")
            else:
                _wait_zero_behind(replica)

    def fetch(node) -> Callable[[list[str]], dict]:
        def checksums(names: list[str]) -> dict:
            listed = ", ".join(f"`{database}`.`{t}`" for t in names)
            return parse_checksums(node.sql(f"CHECKSUM TABLE {listed}"), database)
        return checksums

    return compare(tables, settle, {a.name: fetch(a), b.name: fetch(b)}, attempts)


def _gtid(node) -> bool:
    return bool(node.sql("SELECT COUNT(*) FROM information_schema.global_variables "
                         "WHERE variable_name = 'GTID_BINLOG_POS'")[0][0] != "0")


def _wait_zero_behind(node, timeout: float = SETTLE_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = node.run(f"{node.platform.db_client} -E -e 'SHOW SLAVE STATUS'", check=False)
        if "Seconds_Behind_Master: 0" in out:
            return
        time.sleep(0.5)


def report(results: list[TableResult]) -> str:
    differing = [r for r in results if not r.equal]
    lines = [f"{len(results)} table(s) compared, {len(differing)} differ"]
    for r in differing:
        where = ", ".join(f"{node} {value if value is not None else 'missing'}" for node, value in r.checksums.items())
        lines.append(f"  DIFFERS {r.table}: {where} (after {r.attempts} round(s))")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from .target import DrillCluster

    parser = argparse.ArgumentParser(prog="python -m drill.consistency", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inventory", help="the pyinfra inventory of the deployed cluster")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    results = cluster_compare(DrillCluster.load(args.inventory))
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    return 0 if all(r.equal for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
