"""The customer's path with a WAR (qm_app_mode = "war") in the lab: a WAR built from the stand-in,
its JDBC driver inside WEB-INF/lib as QueueMetrics ships it. The settings QueueMetrics saves are
never put back by a re-run, a file the webapp wrote is never removed, and a new WAR is rolled out
one node at a time while the cluster keeps answering."""

import threading
import time
import zipfile

import pytest

from operations import paths
from operations.render import render
from tests.lab import PLATFORM

pytestmark = pytest.mark.lab

WEBAPP = paths.webapp_dir(PLATFORM.tomcat.webapps_dir)
PROPERTIES = f"{WEBAPP}/WEB-INF/configuration.properties"
DRIVER = "/usr/share/java/mariadb-java-client.jar"


def build_war(path, driver: bytes, version: str, extra: dict[str, str]) -> str:
    """The stand-in as a WAR: its JSPs, its settings, a web.xml with a placeholder URL, the driver."""
    with zipfile.ZipFile(path, "w") as war:
        for rel in ("sysup.jsp", "probe.jsp", "WEB-INF/configuration.properties"):
            war.write(paths.STANDIN / rel, rel)
        war.writestr("WEB-INF/web.xml", render("queuemetrics/web.xml.j2", jdbc_url="jdbc:mariadb://placeholder/x", licence=""))
        war.writestr("WEB-INF/lib/mariadb-java-client.jar", driver)
        war.writestr("version.txt", version + "\n")
        for name, text in extra.items():
            war.writestr(name, text)
    return str(path)


class Prober:
    """The client asks the cluster FQDN every 0.3 s (bounded: at most 600 requests) until stopped."""

    def __init__(self, lab):
        self.lab, self.results, self.failures, self.stop = lab, [], [], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        for _ in range(600):
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


def test_war_mode_keeps_settings_and_rolls_a_new_war_one_node_at_a_time(lab, tmp_path):
    lab.docker("cp", "-L", f"{lab.container('node-a')}:{DRIVER}", str(tmp_path / "driver.jar"))
    driver = (tmp_path / "driver.jar").read_bytes()
    v1 = build_war(tmp_path / "qm-v1.war", driver, "1", {"v1-only.txt": "gone with v2\n"})
    v2 = build_war(tmp_path / "qm-v2.war", driver, "2", {})
    war_mode = ["--data", "qm_app_mode=war", "--data", "qm_jdbc_driver=mariadb"]
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
        assert prober.results and all(prober.results), \
            f"{prober.results.count(False)} of {len(prober.results)} requests failed during the roll-out: " \
            f"{prober.failures}"
        for node in lab.names:
            assert lab.on(node, f"cat {WEBAPP}/version.txt").strip() == "2"
            assert lab.on(node, f"test -e {WEBAPP}/v1-only.txt && echo kept || echo removed").strip() == "removed"
            assert lab.on(node, f"cat {WEBAPP}/written-by-the-app.txt").strip() == "mine"
            assert marker in lab.on(node, f"cat {PROPERTIES}")
            assert lab.on(node, f"stat -c '%U:%G %a' {PROPERTIES}").strip() == "tomcat:tomcat 640"
    finally:
        for node in lab.names:
            lab.on(node, f"rm -f {WEBAPP}/written-by-the-app.txt {WEBAPP}/version.txt {WEBAPP}/v1-only.txt "
                         f"{WEBAPP}/WEB-INF/lib/mariadb-java-client.jar {paths.WAR_MANIFEST}", check=False)
        lab.docker("exec", "-i", lab.container("node-a"), "sh", "-c", f"cat > {PROPERTIES}", input_text=original)
        back = lab.deploy()
        assert back.returncode == 0, back.output[-3000:]
        lab.wait_for(lambda: lab.on("node-b", f"cat {PROPERTIES}") == original, timeout=75, interval=1,
                     what="the original settings back on node B")
