"""Rebuilding a node from its peer: node B's container is replaced by a fresh one (a reinstalled
server, its data disk empty); the deploy without the flag is refused and leaves node A as it was; the
deploy with ``--data qm_db_resync=node-b``, under a client reading and writing through the cluster
FQDN, copies node A's server to node B node to node and leaves the cluster whole."""

from __future__ import annotations

import threading
import time

import pytest

from drill import cases
from drill.consistency import cluster_compare
from drill.target import DrillCluster
from lab import containers
from operations import paths

pytestmark = [pytest.mark.lab, pytest.mark.replication]
TABLE = "queuemetrics.qmha_rebuild_rows"
ROWS = 500
#: each probe round (seconds): the client runs round after round while the deploy runs
ROUND_S = 20


def a_state(lab) -> dict:
    """What node A holds: its GTID position, its rows, and where its channel points."""
    ch = lab.replication("node-a")["channel"] or {}
    return {"gtid": lab.sql("node-a", "SELECT @@gtid_binlog_pos"), "rows": lab.sql("node-a", f"SELECT COUNT(*) FROM {TABLE}"),
            "master": ch.get("master_host")}


def under_load(lab, cluster: DrillCluster, *deploy_args: str):
    """Run the deploy while the client probes round after round; (deploy run, every probe line)."""
    result = {}
    deploy = threading.Thread(target=lambda: result.update(run=lab.deploy(*deploy_args, timeout=1200)))
    lines: list[dict] = []
    deploy.start()
    deadline = time.monotonic() + 1300
    round_ = 0
    while deploy.is_alive() and time.monotonic() < deadline:
        round_ += 1
        probe = cluster.start_probe(ROUND_S, 5, f"rebuild-r{round_}")
        lines += probe.wait(ROUND_S + 60)
    deploy.join(timeout=60)
    return result.get("run"), lines


@pytest.fixture(scope="module")
def rebuilt(lab):
    lab.sql("node-a", f"DROP TABLE IF EXISTS {TABLE}")
    lab.sql("node-a", f"CREATE TABLE {TABLE} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64))")
    lab.sql("node-a", f"INSERT INTO {TABLE} (v) SELECT CONCAT('row-', seq) FROM queuemetrics.seq_1_to_{ROWS}")
    lab.wait_for(lambda: lab.sql("node-b", f"SELECT COUNT(*) FROM {TABLE}") == [[str(ROWS)]], timeout=60,
                 what="the rows on node B")
    cluster = DrillCluster.load(lab.inventory)
    probe = cluster.start_probe(3, 5, "rebuild-r0")  # the probe table exists on both before B is lost
    probe.wait(60)

    containers.replace(lab.cfg, "node-b")
    before = a_state(lab)
    refused = lab.deploy()
    after_refusal = a_state(lab)

    started = time.monotonic()
    cluster = DrillCluster.load(lab.inventory)  # node B's new host key
    run, lines = under_load(lab, cluster, "--data", "qm_db_resync=node-b")
    seconds = time.monotonic() - started
    again = lab.deploy("--data", "qm_db_resync=node-b")
    yield {"refused": refused, "before": before, "after_refusal": after_refusal, "run": run, "lines": lines,
           "seconds": seconds, "again": again, "cluster": cluster}
    lab.sql("node-a", f"DROP TABLE IF EXISTS {TABLE}")


def test_a_reinstalled_node_without_the_flag_is_refused_naming_it(rebuilt):
    refused = rebuilt["refused"]
    assert refused.returncode != 0
    assert "nothing was changed on any node" in refused.output
    assert "node-b has no queuemetrics" in refused.output and "--data qm_db_resync=node-b" in refused.output


def test_the_refused_deploy_leaves_node_a_untouched(rebuilt):
    assert rebuilt["after_refusal"] == rebuilt["before"]


def test_the_flag_rebuilds_node_b_from_node_a(rebuilt):
    run = rebuilt["run"]
    assert run is not None and run.returncode == 0, run.output[-5000:] if run else "the deploy did not end"
    assert "Rebuild node-b from node-a: the copy streamed node to node" in run.output
    print(f"rebuild deploy under load: {rebuilt['seconds']:.1f} s, {len(rebuilt['lines'])} requests")


def test_no_client_request_failed_during_the_rebuild(rebuilt):
    lines = rebuilt["lines"]
    assert len(lines) > 100
    failed = [line for line in lines if not line["ok"]]
    assert failed == []


def test_no_acknowledged_write_is_lost(rebuilt, lab):
    acked = cases.acked(rebuilt["lines"])
    assert acked
    missing = cases.missing_writes(rebuilt["cluster"], acked, "rebuild")
    assert missing == {"node-a": 0, "node-b": 0}


def test_replication_runs_both_ways_and_the_tables_are_equal(rebuilt, lab):
    lab.wait_for(lab.channels_running, timeout=60, what="both channels running")
    lab.sql("node-b", f"INSERT INTO {TABLE} (v) VALUES ('from-b')")
    lab.wait_for(lambda: lab.sql("node-a", f"SELECT COUNT(*) FROM {TABLE} WHERE v = 'from-b'") == [["1"]],
                 timeout=30, what="node B's write on node A")
    results = cluster_compare(rebuilt["cluster"])
    assert results and all(r.equal for r in results), [r for r in results if not r.equal]
    assert lab.sql("node-b", f"SELECT COUNT(*) FROM {TABLE}") == [[str(ROWS + 1)]]


def test_a_rerun_with_the_same_flag_changes_nothing(rebuilt):
    again = rebuilt["again"]
    assert again.returncode == 0, again.output[-3000:]
    assert again.changed() == "-"
    assert "qm_db_resync=node-b ignored" in again.output


def test_node_b_has_its_own_accounts(rebuilt, lab):
    a, b = lab.nodes["node-a"]["address"], lab.nodes["node-b"]["address"]
    peers = {tuple(r) for r in lab.sql("node-b", "SELECT User, Host FROM mysql.user WHERE User LIKE 'qmha_%'")}
    assert peers == {("qmha_repl", a), ("qmha_seed", a)}
    assert b not in {h for _, h in peers}


def test_the_rebuild_is_in_node_bs_journal_step_by_step(rebuilt, lab):
    journal = lab.on("node-b", "journalctl -t qmha-rebuild --no-pager -o cat")
    for step in ("folder made: done", "copy received (exit 0)", "copy prepared: done", "copy swapped in: done",
                 "accounts, binary log and channel set: done", "caught up with the source: done", "folder removed: done"):
        assert step in journal


def test_nothing_can_be_pushed_into_the_rebuild_folder_afterwards(rebuilt, lab):
    b = lab.nodes["node-b"]["address"]
    push = lab.docker("exec", lab.container("node-a"), "sh", "-c",
                      f"echo junk | ssh -i {paths.SYNC_KEY} -o BatchMode=yes -o UserKnownHostsFile={paths.SYNC_KNOWN_HOSTS}"
                      f" qmsync@{b} rebuild-receive", check=False)
    assert push.returncode != 0 and "refused" in push.stderr
    assert lab.on("node-b", f"test -e {paths.REBUILD_DIR} && echo there || echo gone").strip() == "gone"
