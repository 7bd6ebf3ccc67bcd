"""The failover drill: the seed's "we shut down both nodes with you, one at a time, and demonstrate
that QueueMetrics is working", as a command, with figures.

    python -m drill inventories/lab.py                       # the lab (make drill: also its figure)
    python -m drill inventories/mycompany.py --node-down ask # real servers: you power node A off

For each case (nginx, Tomcat, the database, then the whole node; on A, then on B) a client probes
the cluster FQDN over HTTPS at a fixed rate and writes tokens through the app while the case is
injected and then restored. Each case reports requests sent and failed, the longest stretch without
a good answer, writes acknowledged and whether every one of them is on both databases afterwards,
and how long the cluster took to be healthy and caught up again. Exit status 1 if a case failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import cases, report
from .target import DrillCluster


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drill", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inventory", help="the pyinfra inventory of the deployed cluster")
    parser.add_argument("--rate", type=float, default=5.0, help="probe requests per second (default 5)")
    parser.add_argument("--hold", type=float, default=15.0, help="seconds each failure lasts (default 15)")
    parser.add_argument("--node-down", choices=["container", "services", "ask"], default=None,
                        help="how a whole node goes down: lab container stop (default in the lab), all its "
                             "services stopped (default for real servers), or you power it off when asked")
    parser.add_argument("--only", action="append", default=[], help="run only cases whose name contains this")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    parser.add_argument("--figure", type=Path, metavar="STEM",
                        help="also draw the run (a strip per case) into STEM.png and STEM.svg")
    args = parser.parse_args(argv)

    cluster = DrillCluster.load(args.inventory)
    node_down = args.node_down or ("container" if cluster.is_lab else "services")
    plan = [c for c in cases.all_cases(cluster, node_down) if not args.only or any(o in c.name for o in args.only)]
    if not plan:
        print("drill: no case matches --only", file=sys.stderr)
        return 2
    print(f"drill: {len(plan)} case(s) against https://{cluster.fqdn}/ at {args.rate:g} requests/s, "
          f"{args.hold:g} s each", flush=True)
    cluster.wait_healthy(timeout=180)
    results = []
    for case in plan:
        started = time.monotonic()
        result = cases.run_case(cluster, case, rate=args.rate, hold=args.hold)
        result["wall_s"] = round(time.monotonic() - started, 1)
        results.append(result)
        print(report.line(result), flush=True)
    print()
    print(report.table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if args.figure:
        from . import figure

        title = f"qm-ha drill, {time.strftime('%Y-%m-%d')}, {args.rate:g} requests/s, {args.hold:g} s per failure"
        print("drill: figure " + ", ".join(str(p) for p in figure.draw(results, args.figure, title)))
    return 0 if all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
