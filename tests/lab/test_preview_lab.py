"""Preview before change: on a deployed cluster a dry run shows nothing to do; an edited inventory
value shows exactly the file it changes and the restart it would cause, and changes nothing."""

import json
import re

import pytest

from operations import paths
from tests.lab import PLATFORM

pytestmark = pytest.mark.lab

WEB_XML = f"{paths.webapp_dir(PLATFORM.tomcat.webapps_dir)}/WEB-INF/web.xml"
EDIT = ("--data", "qm_jdbc_connect_timeout_ms=2500")


def plan(lab, *args) -> list[dict]:
    run = lab.deploy("--dry", "--json", *args, yes=False)
    assert run.returncode == 0, run.output[-3000:]
    return json.loads(run.output[run.output.index("{"):run.output.rindex("}") + 1])["plan"]


def changed(steps: list[dict]) -> list[str]:
    return [s["name"] for s in steps if s["hosts_with_change"]]


@pytest.fixture(scope="module")
def converged(lab):
    run = lab.deploy()
    assert run.returncode == 0, run.output[-3000:]
    return lab


def test_dry_run_on_a_deployed_cluster_plans_no_change(converged):
    assert changed(plan(converged)) == []


def test_edited_value_plans_only_the_file_it_changes(converged):
    steps = plan(converged, *EDIT)
    assert changed(steps) == ["Application server (Tomcat + QueueMetrics) | Stand-in WEB-INF/web.xml (JDBC_URL)"]
    restart = next(s for s in steps if s["name"].endswith("Restart Tomcat after a change (one node at a time)"))
    assert sorted(restart["hosts_with_conditional_change"]) == ["node-a", "node-b"]


def test_edited_value_diff_shows_the_old_and_new_line(converged):
    run = converged.deploy("--dry", "--diff", *EDIT, yes=False)
    assert run.returncode == 0
    # pyinfra prints each host's diff as that host's facts arrive: the order between hosts is not fixed
    modified = sorted(line.strip() for line in run.output.splitlines() if "Will modify" in line)
    assert modified == [f"[node-a] Will modify {WEB_XML}", f"[node-b] Will modify {WEB_XML}"]
    assert "connectTimeout=2000" in run.output and "connectTimeout=2500" in run.output


def test_diff_masks_the_database_password(converged):
    password = re.search(r"password=([^&<]+)", converged.on("node-a", f"cat {WEB_XML}")).group(1)
    run = converged.deploy("--dry", "--diff", *EDIT, yes=False)
    assert "password=*MASKED*&amp;connectTimeout=2500" in run.output
    assert password not in run.output


def test_preview_changes_nothing_on_the_nodes(converged):
    before = {n: converged.on(n, f"sha256sum {WEB_XML}") for n in converged.names}
    converged.deploy("--dry", "--diff", *EDIT, yes=False)
    assert {n: converged.on(n, f"sha256sum {WEB_XML}") for n in converged.names} == before
    assert "connectTimeout=2000" in converged.on("node-a", f"cat {WEB_XML}")
