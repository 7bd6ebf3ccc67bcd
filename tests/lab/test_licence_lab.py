"""Licences in the lab: node A holds the main QueueMetrics licence key, node B its hot-backup one,
each in its own web.xml from a file the inventory names; the configuration sync never carries one
node's key to the other."""

import time
from pathlib import Path

import pytest

from operations import paths
from tests.lab import PLATFORM

pytestmark = pytest.mark.lab

WEBAPP = paths.webapp_dir(PLATFORM.tomcat.webapps_dir)


def key_in_web_xml(lab, node: str) -> str:
    return lab.on(node, f"sed -n '/LICENZA_ARCHITETTURA/{{n;s/.*<param-value>\\(.*\\)<\\/param-value>.*/\\1/p}}' "
                        f"{WEBAPP}/WEB-INF/web.xml").strip()


def test_each_node_holds_its_own_licence_key(lab):
    keys = {n["name"]: Path(n["licence_file"]).read_text().strip() for n in lab.state["nodes"]}
    assert keys["node-a"].startswith("QMHA-LAB-MAIN-") and keys["node-b"].startswith("QMHA-LAB-HOTBACKUP-")
    for node, key in keys.items():
        assert key_in_web_xml(lab, node) == key


def test_the_configuration_sync_never_carries_a_licence_key(lab):
    from tests.lab.test_sync_lab import FILE, content

    original = content(lab, "node-a")
    before = {node: key_in_web_xml(lab, node) for node in lab.names}
    marker = f"qmha.test.licence={time.time_ns()}"
    try:
        lab.on("node-a", f"echo '{marker}' >> {FILE}")
        lab.wait_for(lambda: marker in content(lab, "node-b"), timeout=75, interval=1, what="the change on node B")
        assert {node: key_in_web_xml(lab, node) for node in lab.names} == before
        assert before["node-a"] != before["node-b"]
    finally:
        lab.docker("exec", "-i", lab.container("node-a"), "sh", "-c", f"cat > {FILE}", input_text=original)
        lab.wait_for(lambda: content(lab, "node-b") == original, timeout=75, interval=1, what="original back on B")
