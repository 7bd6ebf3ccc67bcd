"""The status command against the lab: a healthy cluster exits 0 with every figure filled in; a
stopped Tomcat is named, with its fix, and the exit status says so."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab import PLATFORM

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]


def status(lab, *args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "drill.status", lab.inventory, *args], cwd=REPO,
                          env={**lab.env, **(env or {})}, capture_output=True, text=True, timeout=300)


def test_a_healthy_cluster_reports_every_figure_and_exits_zero(lab):
    run = status(lab, "--json")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    report = json.loads(run.stdout)
    assert report["problems"] == []
    for name, node in report["nodes"].items():
        assert node["sysup"] == "QMUP" and set(node["services"].values()) == {"active"}
        assert node["replication"]["channel"]["io_running"] == "Yes" and node["replication"]["channel"]["ssl"]
        assert all(days and days > 30 for days in node["certificate_days"].values()), node["certificate_days"]
        assert node["free_mb"] > 0 and node["binlog_days"] == 7
    assert len({n["properties_sha256"] for n in report["nodes"].values()}) == 1
    table = status(lab)
    assert table.returncode == 0 and "no problems" in table.stdout and "replication   IO Yes, SQL Yes" in table.stdout


def test_a_stopped_tomcat_is_named_with_its_fix(lab):
    unit = PLATFORM.tomcat.service
    lab.on("node-b", f"systemctl stop {unit}")
    try:
        run = status(lab)
    finally:
        lab.on("node-b", f"systemctl start {unit}")
    assert run.returncode == 1
    assert f"node-b: {unit} is inactive. Fix: systemctl start {unit}" in run.stdout
    lab.wait_for(lambda: lab.curl("/queuemetrics/sysup.jsp", via="node-b")[0] == 200, timeout=90, interval=2,
                 what="node B's Tomcat back")
