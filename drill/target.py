"""The deployed cluster as the drill sees it: two nodes reached over SSH as the inventory says,
and a client that probes the cluster FQDN (the lab's client container, or this machine).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from lab import docker as lab_docker
from drill import hosts as remote
from operations import knobs, paths
from operations.platform import Platform, for_distribution

PROBER = Path(__file__).resolve().parent / "prober.py"
CLIENT_CA = "/tmp/qmha-ca.crt"


class DrillError(RuntimeError):
    pass


@dataclass
class Node:
    name: str
    fqdn: str
    address: str
    data: dict
    host: object  # testinfra host
    platform: Platform
    knobs: knobs.Knobs

    @property
    def short_name(self) -> str:
        return self.fqdn.split(".", 1)[0]

    def execute(self, command: str) -> tuple[int, str, str]:
        """(exit status, stdout, stderr) of COMMAND on the node; 255 when the node cannot be reached."""
        try:
            result = self.host.run(command)
        except RuntimeError as exc:  # ssh itself failed: the node is down or unreachable
            return 255, "", str(exc)
        return result.rc, result.stdout, result.stderr

    def run(self, command: str, check: bool = True) -> str:
        rc, out, err = self.execute(command)
        if check and rc != 0:
            raise DrillError(f"{self.name}: `{command}` failed: {err.strip() or out.strip()}")
        return out

    def sql(self, query: str) -> list[list[str]]:
        """QUERY through the node's own database client as root (socket auth or root's option file)."""
        out = self.run(f"{self.platform.db_client} -N -B -e {shlex.quote(query)}")
        return [line.split("\t") for line in out.splitlines() if line]


@dataclass
class ProbeRun:
    process: subprocess.Popen
    lines: list[dict] = field(default_factory=list)

    def _read(self) -> None:
        for raw in self.process.stdout:
            try:
                self.lines.append(json.loads(raw))
            except json.JSONDecodeError:
                continue

    def start(self) -> "ProbeRun":
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def wait(self, timeout: float) -> list[dict]:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        time.sleep(0.2)
        return self.lines


@dataclass
class DrillCluster:
    fqdn: str
    nodes: list[Node]
    db_name: str
    ca_cert: Path
    client_container: str | None

    @property
    def is_lab(self) -> bool:
        return self.client_container is not None

    @classmethod
    def load(cls, inventory: str) -> "DrillCluster":
        hosts = remote.inventory_hosts(inventory)
        config = Path(tempfile.mkdtemp(prefix="qmha-drill-")) / "ssh_config"
        config.write_text(remote.ssh_config(hosts))
        nodes = []
        for h in hosts:
            host = remote.testinfra_host(h, config)
            info = host.system_info
            platform = for_distribution({"name": info.distribution, "major": int(str(info.release).split(".")[0]),
                                         "release_meta": {"ID": info.distribution}})
            k = knobs.read(h.name, h.data)
            nodes.append(Node(h.name, k.qm_node_fqdn, k.qm_node_address, h.data, host, platform, k))
        k = nodes[0].knobs
        control = paths.control_dir(k.qm_local_state_dir, k.qm_cluster_fqdn, create=False)
        return cls(fqdn=k.qm_cluster_fqdn, nodes=nodes, db_name=k.qm_db_name,
                   ca_cert=paths.control_ca(control, k.qm_tls_ca),
                   client_container=hosts[0].data.get("lab_client_container"))

    def other(self, node: Node) -> Node:
        return next(n for n in self.nodes if n is not node)

    # ------------------------------------------------------------ the client

    def start_probe(self, duration: float, rate: float, token_prefix: str) -> ProbeRun:
        args = ["--url", f"https://{self.fqdn}/queuemetrics/probe", "--duration", str(duration),
                "--rate", str(rate), "--token-prefix", token_prefix]
        if self.is_lab:
            lab_docker.run("cp", str(self.ca_cert), f"{self.client_container}:{CLIENT_CA}", timeout=30)
            cmd = [lab_docker.docker_binary(), "exec", "-i", self.client_container, "python3", "-", *args,
                   "--ca", CLIENT_CA]
            stdin = PROBER.open("rb")
        else:
            cmd = [sys.executable, str(PROBER), *args]
            if self.ca_cert.exists():  # else a publicly signed certificate: the system's CAs
                cmd += ["--ca", str(self.ca_cert)]
            stdin = subprocess.DEVNULL
        process = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        return ProbeRun(process).start()

    # ------------------------------------------------------------ health

    def serves_itself(self, node: Node) -> bool:
        """nginx -> its own Tomcat -> its own database, asked on the node itself."""
        rc, out, _ = node.execute(
            f"curl -s --max-time 5 --cacert {paths.TLS['ca']} --resolve {self.fqdn}:443:127.0.0.1 "
            f"https://{self.fqdn}/queuemetrics/probe")
        return rc == 0 and f"app={node.short_name}\n" in out and f"db={node.short_name}\n" in out

    def replication_running(self, node: Node) -> bool:
        try:
            out = node.run(f"{node.platform.db_client} -e 'SHOW SLAVE STATUS\\G'")
        except DrillError:
            return False
        return "Slave_IO_Running: Yes" in out and "Slave_SQL_Running: Yes" in out

    def healthy(self) -> bool:
        return all(self.serves_itself(n) and self.replication_running(n) for n in self.nodes)

    def wait_healthy(self, timeout: float) -> float:
        """Seconds until every node serves itself and replicates both ways; DrillError after TIMEOUT."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.healthy():
                return time.monotonic() - start
            time.sleep(1)
        raise DrillError(f"the cluster is not healthy after {timeout:.0f} s (each node serving from its own "
                         "Tomcat and database, replication running both ways); run the deploy, then retry")

    def tokens_on(self, node: Node, prefix: str) -> set[str]:
        rows = node.sql(f"SELECT token FROM {self.db_name}.qmha_probe WHERE token LIKE '{prefix}-%'")
        return {r[0] for r in rows}
