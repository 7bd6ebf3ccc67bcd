"""Command line of the lab: ``python -m lab up|down|verify|state|replace NODE``.

``make lab`` runs ``up``, then the deploy, then ``verify``; ``make lab-down`` runs ``down``;
``replace node-b`` makes node B anew (a reinstalled server with an empty data disk).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from . import containers, verify
from .docker import LabError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "verify", "state", "replace"])
    parser.add_argument("node", nargs="?", help="replace: the node made anew (node-a or node-b)")
    args = parser.parse_args(argv)
    cfg = containers.LabConfig.from_env()
    started = time.monotonic()
    try:
        if args.command == "up":
            state = containers.up(cfg)
            print(f"lab: up in {time.monotonic() - started:.1f} s; state in {cfg.state_file}")
            print("lab: nodes " + ", ".join(f"{n['fqdn']} ({n['address']})" for n in state["nodes"]))
        elif args.command == "down":
            removed = containers.down(cfg)
            print("lab: removed " + (", ".join(removed) if removed else "nothing (no lab found)"))
        elif args.command == "replace":
            if not args.node:
                parser.error("replace needs the node to make anew, such as: python -m lab replace node-b")
            containers.replace(cfg, args.node)
            print(f"lab: {args.node} made anew in {time.monotonic() - started:.1f} s (empty, its data disk emptied)")
        elif args.command == "verify":
            ok = verify.report(containers.write_state(cfg))
            return 0 if ok else 1
        else:
            print(json.dumps(containers.state_dict(cfg, containers.lab_is_floating(cfg)), indent=2))
    except LabError as exc:
        print(f"lab: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
