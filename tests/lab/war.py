"""What the lab tests of war mode share: WARs built from the stand-in, a client that keeps asking the
cluster, and the way back to the stand-in the ``lab`` fixture deployed, so that the test files
after them find the lab as it was."""

from __future__ import annotations

import threading
import time
import zipfile

from operations import paths
from operations.phases.app.rolling import ROLLOUT_TABLE
from tests.lab import PLATFORM
from operations.render import render

WEBAPP = paths.webapp_dir(PLATFORM.tomcat.webapps_dir)
PROPERTIES = f"{WEBAPP}/WEB-INF/configuration.properties"
DRIVER = "/usr/share/java/mariadb-java-client.jar"
#: the stand-in's "version 2": its health page changes the schema on its first start
STANDIN_V2 = paths.FILES / "queuemetrics-standin-v2"
WAR_MODE = ["--data", "qm_app_mode=war", "--data", "qm_jdbc_driver=mariadb"]


def driver_jar(lab, tmp_path) -> bytes:
    """MariaDB Connector/J as a node has it (a WAR carries its driver, as QueueMetrics does)."""
    lab.docker("cp", "-L", f"{lab.container('node-a')}:{DRIVER}", str(tmp_path / "driver.jar"))
    return (tmp_path / "driver.jar").read_bytes()


def build_war(path, driver: bytes, version: str, extra: dict[str, str], schema_change: bool = False) -> str:
    """The stand-in as a WAR: its JSPs (with SCHEMA_CHANGE, version 2's health page), its settings,
    a web.xml with a placeholder URL, the driver, a version.txt."""
    with zipfile.ZipFile(path, "w") as war:
        for rel in ("sysup.jsp", "probe.jsp", "WEB-INF/configuration.properties"):
            war.write((STANDIN_V2 if schema_change and rel == "sysup.jsp" else paths.STANDIN) / rel, rel)
        war.writestr("WEB-INF/web.xml", render("queuemetrics/web.xml.j2", jdbc_url="jdbc:mariadb://placeholder/x",
                                               licence=""))
        war.writestr("WEB-INF/lib/mariadb-java-client.jar", driver)
        war.writestr("version.txt", version + "\n")
        for name, text in extra.items():
            war.writestr(name, text)
    return str(path)


class Prober:
    """The client asks the cluster FQDN every 0.3 s (bounded: at most 1500 requests) until stopped."""

    def __init__(self, lab):
        self.lab, self.results, self.failures, self.stop = lab, [], [], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        for _ in range(1500):
            if self.stop.is_set():
                return
            code, body, seconds = self.lab.curl("/queuemetrics/probe", connect_timeout=5, max_time=10)
            self.results.append(code == 200 and "app" in body)
            if not self.results[-1]:
                self.failures.append((time.strftime("%H:%M:%S"), code, body, seconds))
            time.sleep(0.3)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=30)

    def summary(self) -> str:
        return f"{self.results.count(False)} of {len(self.results)} requests failed: {self.failures}"


def has_the_v2_column(lab, node: str) -> bool:
    """Whether NODE's qmha_probe has the column version 2's schema change adds."""
    return lab.sql(node, "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'queuemetrics' "
                         "AND TABLE_NAME = 'qmha_probe' AND COLUMN_NAME = 'v2_note'") == [["1"]]


def back_to_the_stand_in(lab, properties: str) -> None:
    """The lab as the ``lab`` fixture made it: the WAR's files and the roll-out's state gone from
    both nodes, the schema changes undone (on node A; replication takes them to B), PROPERTIES (the
    settings node A had) back, and the stand-in deployed again."""
    state = " ".join([paths.WAR_MANIFEST, paths.WEBAPP_NEXT, paths.WEBAPP_NEXT_FILES, paths.WEBAPP_NEXT_ID,
                      paths.WAR_RUNNING, paths.WAR_SWAP_LOCK])
    for node in lab.names:
        lab.on(node, f"[ ! -f {paths.WAR_MANIFEST} ] || while IFS= read -r f; do rm -f \"{WEBAPP}/$f\"; done "
                     f"< {paths.WAR_MANIFEST}; rm -rf {state} {WEBAPP}/written-by-the-app.txt", check=False)
    lab.sql("node-a", f"DROP TABLE IF EXISTS queuemetrics.{ROLLOUT_TABLE}, queuemetrics.qmha_schema_log, "
                      "queuemetrics.qmha_hold")
    if has_the_v2_column(lab, "node-a"):
        lab.sql("node-a", "ALTER TABLE queuemetrics.qmha_probe DROP COLUMN v2_note")
    lab.wait_for(lambda: not has_the_v2_column(lab, "node-b"), timeout=60, interval=1, what="the schema change undone on node B")
    lab.docker("exec", "-i", lab.container("node-a"), "sh", "-c", f"cat > {PROPERTIES}", input_text=properties)
    back = lab.deploy()
    assert back.returncode == 0, back.output[-3000:]
    lab.wait_for(lambda: lab.on("node-b", f"cat {PROPERTIES}") == properties, timeout=75, interval=1,
                 what="the original settings back on node B")
    lab.wait_for(lab.channels_running, timeout=60, interval=1, what="both channels running")
