"""The consistency check: equal tables pass, a differing one is named, a table that only changed
while it was compared is compared again and passes."""

from drill import consistency


def fetcher(rounds: list[dict]):
    """A node whose checksums are ROUNDS[i] in round i (the last one repeats)."""
    calls = []

    def fetch(names):
        values = rounds[min(len(calls), len(rounds) - 1)]
        calls.append(list(names))
        return {n: values.get(n) for n in names}
    fetch.calls = calls
    return fetch


def test_equal_databases_pass_in_one_round():
    a, b = fetcher([{"t1": 1, "t2": 2}]), fetcher([{"t1": 1, "t2": 2}])
    settled = []
    results = consistency.compare(["t1", "t2"], lambda: settled.append(1), {"node-a": a, "node-b": b})
    assert all(r.equal and r.attempts == 1 for r in results) and len(settled) == 1


def test_a_differing_table_is_named_after_every_attempt():
    a, b = fetcher([{"t1": 1, "t2": 2}]), fetcher([{"t1": 1, "t2": 3}])
    results = consistency.compare(["t1", "t2"], lambda: None, {"node-a": a, "node-b": b}, attempts=3)
    assert [(r.table, r.equal, r.attempts) for r in results] == [("t1", True, 1), ("t2", False, 3)]
    assert b.calls == [["t1", "t2"], ["t2"], ["t2"]]  # only the differing table is compared again
    assert "DIFFERS t2: node-a 2, node-b 3 (after 3 round(s))" in consistency.report(results)


def test_a_table_that_changed_while_compared_passes_on_a_later_round():
    a = fetcher([{"t1": 10}, {"t1": 11}])
    b = fetcher([{"t1": 9}, {"t1": 11}])  # B had not applied A's last write yet in round 1
    [result] = consistency.compare(["t1"], lambda: None, {"node-a": a, "node-b": b})
    assert result.equal and result.attempts == 2


def test_a_table_on_one_node_only_differs():
    a, b = fetcher([{"t1": 1}]), fetcher([{}])
    [result] = consistency.compare(["t1"], lambda: None, {"node-a": a, "node-b": b}, attempts=2)
    assert not result.equal and result.checksums == {"node-a": 1, "node-b": None}
    assert "node-b missing" in consistency.report([result])


def test_the_peer_waits_for_the_other_nodes_own_domain_only():
    assert consistency.own_position("1-1-120,2-2-87", 1) == "1-1-120"
    assert consistency.own_position("1-1-120,2-2-87", 2) == "2-2-87"
    assert consistency.own_position("", 1) == ""


def test_checksum_rows_are_parsed_with_missing_tables_as_none():
    rows = [["queuemetrics.qmha_probe", "3215416"], ["queuemetrics.gone", "NULL"]]
    assert consistency.parse_checksums(rows, "queuemetrics") == {"qmha_probe": 3215416, "gone": None}
