"""War mode's rolling upgrade in the lab: a new WAR staged on both nodes, then swapped in node A
first, node B after A reports it running, with the client served throughout. The stand-in's
"version 2" changes the schema when it first starts: that runs on node A only and reaches node B
by replication. A roll-out killed between the swaps is finished by the next run."""

import subprocess
import time

import pytest

from operations import paths
from operations.phases.app.rolling import ROLLOUT_TABLE, war_identity
from tests.conftest import PYINFRA, REPO

from .war import (PROPERTIES, WAR_MODE, WEBAPP, Prober, back_to_the_stand_in, build_war, driver_jar,
                  has_the_v2_column)

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def war_v1(lab, tmp_path_factory):
    """The lab in war mode with a version 1 WAR; the stand-in again afterwards. The driver jar (a
    WAR carries its own) and a folder for the later WARs."""
    tmp = tmp_path_factory.mktemp("wars")
    driver = driver_jar(lab, tmp)
    v1 = build_war(tmp / "qm-v1.war", driver, "1", {})
    original = lab.on("node-a", f"cat {PROPERTIES}")
    try:
        first = lab.deploy(*WAR_MODE, "--data", f"qm_app_war={v1}")
        assert first.returncode == 0, first.output[-3000:]
        yield tmp, driver
    finally:
        back_to_the_stand_in(lab, original)


def running(lab, node: str) -> str:
    return lab.on(node, f"cat {paths.WAR_RUNNING} 2>/dev/null", check=False).strip()


def staged(lab, node: str) -> str:
    return lab.on(node, f"cat {paths.WEBAPP_NEXT_ID} 2>/dev/null", check=False).strip()


def test_a_new_war_rolls_node_a_first_and_its_schema_change_reaches_node_b_by_replication(lab, war_v1):
    tmp, driver = war_v1
    v2 = build_war(tmp / "qm-v2.war", driver, "2", {}, schema_change=True)
    identity = war_identity(v2)
    assert not has_the_v2_column(lab, "node-a")

    with Prober(lab) as prober:
        rolled = lab.deploy(*WAR_MODE, "--data", f"qm_app_war={v2}")
        time.sleep(3)
    assert rolled.returncode == 0, rolled.output[-3000:]
    assert prober.results and all(prober.results), prober.summary()

    for node in lab.names:
        assert lab.on(node, f"cat {WEBAPP}/version.txt").strip() == "2"
        assert running(lab, node) == identity
        assert has_the_v2_column(lab, node)
        # the change ran once, on node A; node B found it replicated
        assert lab.sql(node, "SELECT node, version FROM queuemetrics.qmha_schema_log") == [["node-a", "2"]]
    reports = dict((n, int(t)) for n, t in lab.sql(
        "node-b", f"SELECT node, UNIX_TIMESTAMP(at) FROM queuemetrics.{ROLLOUT_TABLE}"))
    assert reports["node-a"] < reports["node-b"]  # node A reported running it before node B did
    assert lab.channels_running()

    again = lab.deploy(*WAR_MODE, "--data", f"qm_app_war={v2}")
    assert again.returncode == 0 and again.changed() == "-", again.output[-3000:]


def test_a_roll_out_killed_between_the_swaps_is_finished_by_the_next_run(lab, war_v1):
    tmp, driver = war_v1
    v3 = build_war(tmp / "qm-v3.war", driver, "3", {}, schema_change=True)
    identity = war_identity(v3)
    before = {node: running(lab, node) for node in lab.names}
    # node A's channel held behind node B's: a table locked on A, a row written to it on B
    lab.sql("node-a", "CREATE TABLE IF NOT EXISTS queuemetrics.qmha_hold (id INT PRIMARY KEY)")
    lab.wait_for(lambda: lab.sql("node-b", "SHOW TABLES FROM queuemetrics LIKE 'qmha_hold'"), timeout=30,
                 what="the hold table on node B")
    holder = subprocess.Popen(["docker", "exec", "-i", lab.container("node-a"), "mariadb", "queuemetrics"],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    deploy = None
    try:
        holder.stdin.write("LOCK TABLES qmha_hold WRITE;\n")
        holder.stdin.flush()
        lab.wait_for(lambda: lab.sql("node-a", "SHOW OPEN TABLES FROM queuemetrics "
                                               "WHERE `Table` = 'qmha_hold' AND In_use > 0"),
                     timeout=30, what="the hold table locked on node A")
        lab.sql("node-b", "INSERT INTO queuemetrics.qmha_hold VALUES (1)")
        lab.wait_for(lambda: not caught_up(lab, "node-a"), timeout=30, what="node A's channel held behind")

        deploy = subprocess.Popen([PYINFRA, "-y", lab.inventory, "deploy.py", *WAR_MODE, "--data", f"qm_app_war={v3}"],
                                  cwd=REPO, env=lab.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # both nodes staged, and node A's swap started (it holds the swap lock, waiting for its channel)
        lab.wait_for(lambda: all(staged(lab, n) == identity for n in lab.names) and swap_locked(lab, "node-a"),
                     timeout=900, interval=2, what="both nodes staged and node A's swap waiting")
        deploy.kill()
        deploy.wait(timeout=60)
        assert running(lab, "node-b") == before["node-b"]  # node B never swapped
    finally:
        if deploy and deploy.poll() is None:
            deploy.kill()
        holder.stdin.write("UNLOCK TABLES;\n")
        holder.stdin.close()
        holder.wait(timeout=60)
    lab.wait_for(lambda: caught_up(lab, "node-a"), timeout=60, what="node A's channel caught up")

    finished = lab.deploy(*WAR_MODE, "--data", f"qm_app_war={v3}")
    assert finished.returncode == 0, finished.output[-3000:]
    for node in lab.names:
        assert running(lab, node) == identity
        assert lab.on(node, f"cat {WEBAPP}/version.txt").strip() == "3"
    assert lab.channels_running()
    lab.sql("node-a", "DROP TABLE queuemetrics.qmha_hold")


def caught_up(lab, node: str) -> bool:
    """Whether NODE's channel has applied all it received."""
    status = lab.on(node, "mariadb -e 'SHOW SLAVE STATUS\\G'")
    values = {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in status.splitlines())}
    return values.get("Read_Master_Log_Pos") == values.get("Exec_Master_Log_Pos") \
        and values.get("Master_Log_File") == values.get("Relay_Master_Log_File")


def swap_locked(lab, node: str) -> bool:
    """Whether a swap holds NODE's swap lock."""
    return lab.node(node, f"[ -e {paths.WAR_SWAP_LOCK} ] && ! flock -n {paths.WAR_SWAP_LOCK} true",
                    check=False).returncode == 0
