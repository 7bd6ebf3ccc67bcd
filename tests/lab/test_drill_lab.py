"""The whole failover drill against the lab: every service and every node of the cluster goes down,
crashes, hangs or loses its peer in turn while a client reads and writes through the cluster FQDN."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def drill(lab, tmp_path_factory):
    out = tmp_path_factory.mktemp("drill") / "drill.json"
    run = subprocess.run([sys.executable, "-m", "drill", lab.inventory, "--hold", "10", "--json", str(out)],
                         cwd=REPO, env=lab.env,
                         capture_output=True, text=True, timeout=1800)
    results = json.loads(out.read_text()) if out.exists() else []
    return run, results


def test_drill_runs_every_case_and_exits_zero(drill):
    run, results = drill
    assert [r["case"] for r in results] == [
        case for node in ("node-a", "node-b")
        for case in (f"nginx stopped on {node}", f"tomcat stopped on {node}", f"database stopped on {node}",
                     f"database crashed on {node}", f"database hung on {node}", f"{node} cut off from its peer",
                     f"data disk full on {node}", f"node {node} down", f"node {node} frozen", f"node {node} power cut")
    ]
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]


def test_no_acknowledged_write_is_lost(drill):
    _, results = drill
    assert results
    for r in results:
        assert r["writes_acked"] > 0, r
        assert not any(r["writes_missing"].values()), r


def test_a_node_gone_leaves_every_write_it_acknowledged_on_its_peer(drill):
    _, results = drill
    node_cases = [r for r in results if not r["service_level"]]
    assert len(node_cases) == 6
    for r in node_cases:
        assert r["lost_while_away"] == 0, r


def test_service_failures_cost_no_request(drill):
    _, results = drill
    for r in (r for r in results if r["service_level"]):
        assert r["failed"] == 0, r


def test_every_case_ends_in_a_healthy_caught_up_cluster(drill):
    _, results = drill
    for r in results:
        assert r["healthy_after"], r
        assert r["catch_up_s"] is not None, r


def test_both_databases_are_equal_after_every_case(drill):
    _, results = drill
    assert results
    for r in results:
        assert r["tables_differing"] == [], r
