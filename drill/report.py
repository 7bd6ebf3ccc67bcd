"""The drill's results as text: one line while it runs, one table at the end."""

from __future__ import annotations

COLUMNS = [("case", "case", 32), ("requests", "sent", 5), ("failed", "failed", 6),
           ("longest_outage_s", "longest outage s", 16), ("writes_acked", "writes acked", 12),
           ("lost", "writes lost", 11), ("away", "not on peer while away", 22),
           ("catch_up_s", "caught up after s", 17), ("equal", "dbs equal", 9), ("result", "result", 6)]


def _or_unknown(value) -> str:
    return "?" if value is None else str(value)


def _cells(result: dict) -> dict:
    lost = sum(result["writes_missing"].values())
    differing = result.get("tables_differing", [])
    return {**result, "lost": lost, "result": "ok" if result["passed"] else "FAIL",
            "equal": "yes" if not differing else "NO: " + ", ".join(differing),
            "away": "-" if result["service_level"] else _or_unknown(result.get("lost_while_away")),
            "catch_up_s": "-" if result["catch_up_s"] is None else result["catch_up_s"]}


def line(result: dict) -> str:
    c = _cells(result)
    return (f"  {c['result']:4} {c['case']}: {c['requests']} sent, {c['failed']} failed, longest outage "
            f"{c['longest_outage_s']} s, {c['writes_acked']} writes acked, {c['lost']} lost ({c['away']} not on the peer while away), caught up after "
            f"{c['catch_up_s']} s, databases equal: {c['equal']}, served by {', '.join(result['served_by'])}")


def table(results: list[dict]) -> str:
    head = "  ".join(title.ljust(width) for _, title, width in COLUMNS)
    rows = ["  ".join(str(_cells(r)[key]).ljust(width) for key, _, width in COLUMNS) for r in results]
    return "\n".join([head, "-" * len(head), *rows])
