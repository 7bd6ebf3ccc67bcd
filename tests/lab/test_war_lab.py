"""The customer's path with a WAR (qm_app_mode = "war") in the lab: a WAR built from the stand-in,
its JDBC driver inside WEB-INF/lib as QueueMetrics ships it. The settings QueueMetrics saves are
never put back by a re-run, a file the webapp wrote is never removed, and a new WAR is rolled out
one node at a time while the cluster keeps answering."""

import time

import pytest

from .war import PROPERTIES, WAR_MODE, WEBAPP, Prober, back_to_the_stand_in, build_war, driver_jar

pytestmark = pytest.mark.lab


def test_war_mode_keeps_settings_and_rolls_a_new_war_one_node_at_a_time(lab, tmp_path):
    driver = driver_jar(lab, tmp_path)
    v1 = build_war(tmp_path / "qm-v1.war", driver, "1", {"v1-only.txt": "gone with v2\n"})
    v2 = build_war(tmp_path / "qm-v2.war", driver, "2", {})
    war_mode = WAR_MODE
    original = lab.on("node-a", f"cat {PROPERTIES}")
    try:
        first = lab.deploy(*war_mode, "--data", f"qm_app_war={v1}")
        assert first.returncode == 0, first.output[-3000:]
        for node in lab.names:
            code, body, _ = lab.curl("/queuemetrics/probe", via=node)
            assert (code, body.get("app")) == (200, node)
            assert lab.on(node, f"cat {WEBAPP}/version.txt").strip() == "1"

        # QueueMetrics (its Tomcat's user) saves a setting on A; the sync carries it to B
        marker = f"qmha.test.war={time.time_ns()}"
        lab.on("node-a", f"runuser -u tomcat -- sh -c \"echo '{marker}' >> {PROPERTIES}\"")
        lab.wait_for(lambda: marker in lab.on("node-b", f"cat {PROPERTIES}"), timeout=75, interval=1,
                     what="the saved setting on node B")
        for node in lab.names:  # a file the webapp wrote itself
            lab.on(node, f"echo mine > {WEBAPP}/written-by-the-app.txt")

        again = lab.deploy(*war_mode, "--data", f"qm_app_war={v1}")
        assert again.returncode == 0 and again.changed() == "-", again.output[-3000:]

        with Prober(lab) as prober:
            rolled = lab.deploy(*war_mode, "--data", f"qm_app_war={v2}")
            time.sleep(3)
        assert rolled.returncode == 0, rolled.output[-3000:]
        assert prober.results and all(prober.results), prober.summary()
        for node in lab.names:
            assert lab.on(node, f"cat {WEBAPP}/version.txt").strip() == "2"
            assert lab.on(node, f"test -e {WEBAPP}/v1-only.txt && echo kept || echo removed").strip() == "removed"
            assert lab.on(node, f"cat {WEBAPP}/written-by-the-app.txt").strip() == "mine"
            assert marker in lab.on(node, f"cat {PROPERTIES}")
            assert lab.on(node, f"stat -c '%U:%G %a' {PROPERTIES}").strip() == "tomcat:tomcat 640"
    finally:
        back_to_the_stand_in(lab, original)
