"""Floating addresses in the lab (LAB_FLOATING=1): the cluster FQDN on two addresses, one homed on each
node; keepalived moves a node's address to its peer when the node freezes, loses power or its nginx
stops, and gives it back. The lab goes back to plain round robin afterwards."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from drill import cases
from tests.conftest import CLIENT_CA

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
#: the watch looks every 0.25 s, each look a docker exec; the probe's clock starts a little late
POLL_SLACK_S = 1.0


def lab_up(lab, floating: str) -> None:
    up = subprocess.run([sys.executable, "-m", "lab", "up"], cwd=REPO, capture_output=True, text=True,
                        timeout=900, env={**lab.env, "LAB_FLOATING": floating})
    assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-2000:]
    run = lab.deploy()
    assert run.returncode == 0, run.output[-5000:]


@pytest.fixture(scope="module")
def floating(lab):
    lab_up(lab, "1")
    state = json.loads(lab.cfg.state_file.read_text())
    yield state["floating_addresses"]
    lab_up(lab, "0")
    lab.wait_for(lab.channels_running, timeout=120, what="replication both ways in plain mode")


def holds(lab, name: str) -> list[str]:
    out = lab.on(name, "ip -4 -o addr show eth0")
    return [word.split("/")[0] for word in out.split() if "/" in word]


def holder(lab, address: str) -> list[str]:
    return [name for name in lab.names if address in holds(lab, name)]


def test_each_node_holds_its_own_floating_address(lab, floating):
    a, b = floating
    lab.wait_for(lambda: holder(lab, a) == ["node-a"] and holder(lab, b) == ["node-b"], timeout=30,
                 what="each floating address on its own node")


def test_the_cluster_name_resolves_to_the_floating_addresses_and_serves_through_them(lab, floating):
    out = lab.sh(lab.client, f"getent ahostsv4 {lab.fqdn} | awk '{{print $1}}' | sort -u")
    assert sorted(out.split()) == sorted(floating)
    for address in floating:
        answer = lab.sh(lab.client, f"curl -s --max-time 5 --cacert {CLIENT_CA} --resolve "
                                    f"{lab.fqdn}:443:{address} https://{lab.fqdn}/queuemetrics/probe")
        assert "app=" in answer and "db=" in answer


def test_keepalived_runs_with_a_root_only_configuration_and_vrrp_from_the_peer_only(lab, floating):
    for name in lab.names:
        assert lab.on(name, "systemctl is-active keepalived").strip() == "active"
        assert lab.on(name, "stat -c '%a %U' /etc/keepalived/keepalived.conf").strip() == "600 root"
        peer = next(n for n in lab.names if n != name)
        rules = lab.on(name, "nft list table inet qmha")
        assert f"ip saddr {lab.node_info(peer)['address']} ip protocol vrrp accept" in rules


def test_a_node_whose_nginx_stops_hands_its_address_to_the_peer_and_gets_it_back(lab, floating):
    a = floating[0]
    lab.on("node-a", "systemctl stop nginx")
    try:
        lab.wait_for(lambda: holder(lab, a) == ["node-b"], timeout=20, what="node A's address on node B")
    finally:
        lab.on("node-a", "systemctl start nginx")
    lab.wait_for(lambda: holder(lab, a) == ["node-a"], timeout=30, what="node A's address back on node A")


def test_the_status_names_which_node_holds_which_address(lab, floating):
    run = subprocess.run([sys.executable, "-m", "drill.status", lab.inventory, "--json"], cwd=REPO, env=lab.env,
                         capture_output=True, text=True, timeout=300)
    states = json.loads(run.stdout)["nodes"] if run.stdout.startswith("{") else {}
    assert states["node-a"]["floating_held"] == [floating[0]] and states["node-b"]["floating_held"] == [floating[1]]
    assert "keepalived.service" in states["node-a"]["services"]


@pytest.fixture(scope="module")
def node_drill(lab, floating):
    out = lab.cfg.state_dir / "drill-floating.json"  # kept with the lab, for the README's table
    out.unlink(missing_ok=True)
    run = subprocess.run([sys.executable, "-m", "drill", lab.inventory, "--hold", "10", "--json", str(out),
                          "--only", "frozen", "--only", "power cut", "--only", "nginx stopped"],
                         cwd=REPO, env=lab.env, capture_output=True, text=True, timeout=1800)
    return run, json.loads(out.read_text()) if out.exists() else []


def test_with_floating_addresses_a_frozen_or_dead_node_costs_only_requests_in_flight_while_its_address_moves(node_drill):
    """A frozen or dead node's address goes to its peer within the hold and comes home after. A request
    may fail only when sent before the address moved (it went to the node that is away) or while the
    address went home (moving it under a request in flight breaks that one); while the address sits on
    the peer, and once it is home, nothing fails. Every case keeps every acknowledged write."""
    run, results = node_drill
    assert len(results) == 6, run.stdout[-3000:] + run.stderr[-2000:]
    for r in results:
        timeline = r["timeline"]
        assert r["passed"], {k: v for k, v in r.items() if k != "timeline"}
        if r["service_level"]:
            continue
        moved, back = timeline["address_moved"], timeline["address_back"]
        assert moved is not None and timeline["injected"] < moved < timeline["restored"], (r["case"], timeline)
        assert back is not None, (r["case"], "the address never went home", timeline)
        unexplained = cases.failures_while_settled(timeline, POLL_SLACK_S)
        assert not unexplained, (r["case"], unexplained, {k: timeline[k] for k in
                                                          ("injected", "address_moved", "restored", "address_back")})
