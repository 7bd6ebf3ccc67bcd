"""The drill's plan and judgement, without nodes."""

from dataclasses import dataclass, field

from drill import cases, report
from operations.platform import PLATFORMS


@dataclass
class FakeNode:
    name: str
    address: str
    data: dict = field(default_factory=dict)
    platform: object = PLATFORMS["debian12"]

    @property
    def short_name(self):
        return self.name

    @property
    def knobs(self):
        return type("K", (), {"qm_app_mode": "standin"})()

    def execute(self, command):
        return 3, "", ""  # no socket unit active


@dataclass
class FakeCluster:
    nodes: list
    is_lab: bool

    def other(self, node):
        return next(n for n in self.nodes if n is not node)


def cluster(is_lab: bool) -> FakeCluster:
    return FakeCluster([FakeNode("node-a", "10.0.0.11", {"lab_container": "qmha-node-a"}),
                        FakeNode("node-b", "10.0.0.12", {"lab_container": "qmha-node-b"})], is_lab)


def test_real_servers_get_the_cases_ssh_can_inject_on_each_node():
    names = [c.name for c in cases.all_cases(cluster(False), "services")]
    assert names[:6] == ["nginx stopped on node-a", "tomcat stopped on node-a", "database stopped on node-a",
                         "database crashed on node-a", "database hung on node-a", "node node-a down"]
    assert len(names) == 12 and names[6:] == [n.replace("node-a", "node-b") for n in names[:6]]


def test_the_lab_adds_partition_full_disk_freeze_and_power_cut_on_each_node():
    names = [c.name for c in cases.all_cases(cluster(True), "container")]
    for node in ("node-a", "node-b"):
        assert {f"{node} cut off from its peer", f"data disk full on {node}", f"node {node} frozen",
                f"node {node} power cut"} <= set(names)
    assert len(names) == 20


def test_a_partition_must_cost_no_request_and_a_freeze_may():
    plan = {c.name: c for c in cases.all_cases(cluster(True), "container")}
    assert plan["node-a cut off from its peer"].service_level
    assert not plan["node node-a frozen"].service_level and not plan["node node-a power cut"].service_level


def test_a_crash_and_a_power_cut_strike_just_after_the_node_acknowledged_a_write():
    plan = {c.name: c for c in cases.all_cases(cluster(True), "container")}
    assert plan["database crashed on node-b"].after_ack and plan["node node-b power cut"].after_ack
    assert not plan["nginx stopped on node-b"].after_ack


def test_case_prefixes_differ_between_cases_of_one_node_and_hold_no_dash():
    plan = cases.all_cases(cluster(True), "container")
    prefixes = [cases.case_prefix(c) for c in plan]
    assert len(set(prefixes)) == len(prefixes)
    assert all("-" not in p for p in prefixes)


def test_the_longest_gap_runs_to_the_end_when_the_last_answers_failed():
    lines = [{"t": 1.0, "ok": True}, {"t": 2.0, "ok": False}, {"t": 3.0, "ok": True}, {"t": 4.0, "ok": False}]
    assert cases.longest_gap(lines, end=9.0) == 6.0
    assert cases.longest_gap(lines[:3], end=9.0) == 2.0


def test_the_report_shows_what_a_node_case_left_off_its_peer():
    result = {"case": "node node-a power cut", "service_level": False, "requests": 10, "failed": 1,
              "longest_outage_s": 5.2, "writes_acked": 2, "writes_missing": {"node-a": 0, "node-b": 0},
              "lost_while_away": 1, "catch_up_s": 0.5, "tables_differing": [], "served_by": ["node-b"],
              "passed": False}
    assert "(1 not on the peer while away)" in report.line(result)
    assert "FAIL" in report.table([result])
    assert "(? not on the peer" in report.line({**result, "lost_while_away": None})


def synthetic(name: str, failed_at: tuple = ()) -> dict:
    requests = [[round(i * 0.2, 2), round(i * 0.2, 2) not in failed_at, i % 5 == 4] for i in range(100)]
    return {"case": name, "service_level": True, "requests": 100, "failed": len(failed_at),
            "longest_outage_s": 0.4, "passed": not failed_at,
            "timeline": {"requests": requests, "injected": 5.0, "restored": 15.0, "caught_up": 15.6}}


def test_the_figure_draws_a_strip_per_case_as_png_and_svg(tmp_path):
    from drill import figure

    written = figure.draw([synthetic("nginx stopped on node-a"), synthetic("node node-a frozen", (6.0, 6.2)),
                           {"case": "from an older run", "passed": True}], tmp_path / "drill", "title")
    assert [p.suffix for p in written] == [".png", ".svg"]
    assert written[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = written[1].read_text()
    assert "nginx stopped on node-a" in svg and "node node-a frozen" in svg and "from an older run" not in svg


def test_a_figure_of_nothing_is_refused(tmp_path):
    import pytest

    from drill import figure

    with pytest.raises(ValueError):
        figure.draw([{"case": "x", "passed": True}], tmp_path / "drill")


TIMELINE = {"injected": 5.0, "address_moved": 8.5, "restored": 15.0, "address_back": 15.4}


def test_a_failure_sent_before_the_address_moved_is_explained():
    assert cases.failures_while_settled({**TIMELINE, "failed": [[5.1, 10.1], [8.8, 13.8]]}, 0.5) == []


def test_a_failure_sent_while_the_address_went_home_is_explained():
    assert cases.failures_while_settled({**TIMELINE, "failed": [[14.8, 19.8], [15.8, 15.9]]}, 0.5) == []


def test_a_failure_sent_while_the_address_sat_on_the_peer_is_not_explained():
    assert cases.failures_while_settled({**TIMELINE, "failed": [[12.0, 12.1]]}, 0.5) == [[12.0, 12.1]]


def test_a_failure_sent_after_the_address_came_home_is_not_explained():
    assert cases.failures_while_settled({**TIMELINE, "failed": [[17.0, 22.0]]}, 0.5) == [[17.0, 22.0]]


def test_failed_requests_are_timed_from_when_they_were_sent():
    lines = [{"t": 2.0, "ms": 20, "ok": True}, {"t": 9.0, "ms": 5000, "ok": False}]
    assert cases.failed_requests(lines) == [[4.0, 9.0]]
