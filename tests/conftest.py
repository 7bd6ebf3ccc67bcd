"""Session fixtures shared by the lab and infra suites.

``lab`` brings the two-node lab up once per test session (reusing, restarting or recreating what
it finds), runs the deploy into it, and hands the tests a ``Lab`` to deploy again, run commands in
containers, and read the state. Tests that break something restore it themselves.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab import containers, docker
from operations.facts.mariadb import ReplicationStatus

REPO = Path(__file__).resolve().parent.parent
PYINFRA = str(Path(sys.executable).with_name("pyinfra"))
CLIENT_CA = "/tmp/qmha-ca.crt"


@dataclass
class DeployRun:
    returncode: int
    output: str

    def totals(self) -> dict[str, str]:
        """The 'Grand total' row of pyinfra's results: hosts, success (changed), error, no change."""
        match = re.search(r"Grand total\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", self.output)
        assert match, f"no results table in the deploy output:\n{self.output[-3000:]}"
        return dict(zip(["hosts", "changed", "error", "unchanged"], match.groups()))

    def changed(self) -> str:
        """The changed ('Success') column of the Grand total row: "-" when nothing changed."""
        return self.totals()["changed"]


@dataclass
class Lab:
    cfg: containers.LabConfig
    state: dict

    @property
    def inventory(self) -> str:
        return str(REPO / "inventories/lab.py")

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "QMHA_LAB_STATE": str(self.cfg.state_file)}

    def deploy(self, *args: str, inventory: str | None = None, timeout: float = 900, yes: bool = True,
               env: dict[str, str] | None = None, deploy_file: str = "deploy.py") -> DeployRun:
        """Run the deploy (``yes=False``: with pyinfra's change detection, as a preview needs; ENV:
        variables added to the environment, such as a ``QMHA_<SECRET>``; DEPLOY_FILE: another of the
        project's pyinfra files, such as ``handover.py``)."""
        cmd = [PYINFRA, *(["-y"] if yes else []), inventory or self.inventory, deploy_file, *args]
        proc = subprocess.run(cmd, cwd=REPO, env={**self.env, **(env or {})}, capture_output=True, text=True,
                              timeout=timeout)
        return DeployRun(proc.returncode, proc.stdout + proc.stderr)

    @property
    def fqdn(self) -> str:
        return self.state["fqdn"]

    @property
    def client(self) -> str:
        return self.state["client_container"]

    @property
    def nodes(self) -> dict[str, dict]:
        return {n["name"]: n for n in self.state["nodes"]}

    @property
    def names(self) -> list[str]:
        return [n["name"] for n in self.state["nodes"]]

    def node_info(self, name: str) -> dict:
        return self.nodes[name]

    def container(self, name: str) -> str:
        return self.nodes[name]["container"]

    def docker(self, *args: str, timeout: float = 60, check: bool = True,
               input_text: str | None = None) -> subprocess.CompletedProcess:
        proc = docker.run(*args, check=False, timeout=timeout, input=input_text)
        if check and proc.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc

    def node(self, name: str, command: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
        """Run COMMAND in node NAME's container; the CompletedProcess."""
        return self.docker("exec", self.nodes[name]["container"], "sh", "-c", command, timeout=timeout, check=check)

    def sh(self, container: str, command: str, check: bool = True, timeout: float = 60) -> str:
        proc = docker.run("exec", container, "sh", "-c", command, check=False, timeout=timeout)
        if check:
            assert proc.returncode == 0, f"{container}: `{command}` failed: {proc.stdout}{proc.stderr}"
        return proc.stdout

    def on(self, node_name: str, command: str, check: bool = True, timeout: float = 60) -> str:
        """Run COMMAND on node NODE_NAME; its output (a failure fails the test when CHECK)."""
        return self.sh(self.nodes[node_name]["container"], command, check, timeout)

    def sql(self, name: str, statements: str, timeout: float = 120) -> list[list[str]]:
        """Rows of the last result of STATEMENTS run as root on node NAME (SQL on stdin)."""
        proc = docker.run("exec", "-i", self.container(name), "mariadb", "-NB", check=False, timeout=timeout,
                          input=statements)
        assert proc.returncode == 0, f"{name}: SQL failed: {proc.stderr}"
        return [line.split("\t") for line in proc.stdout.splitlines() if line]

    def replication(self, name: str) -> dict:
        """The ReplicationStatus fact of node NAME, read in its container."""
        out = self.on(name, ReplicationStatus().command())
        return ReplicationStatus().process(out.splitlines())

    def channels_running(self) -> bool:
        for name in self.names:
            ch = self.replication(name)["channel"]
            if not ch or (ch["io_running"], ch["sql_running"]) != ("Yes", "Yes"):
                return False
        return True

    def log_in_again(self) -> None:
        """Both channels log in to their peer afresh (password, TLS handshake: a running IO thread
        keeps its old login), and run again."""
        for name in self.names:
            self.sql(name, "STOP SLAVE; START SLAVE;")
        self.wait_for(self.channels_running, timeout=60, interval=1,
                      what="both channels running after a fresh login")

    def replicates_both_ways(self, table: str) -> None:
        """A row written on each node (TABLE has ``origin`` and ``token`` columns) reaches the other."""
        for writer, reader in (("node-a", "node-b"), ("node-b", "node-a")):
            token = secrets.token_hex(8)
            self.sql(writer, f"INSERT INTO {table} (origin, token) VALUES ('{writer}', '{token}')")
            self.wait_for(lambda: self.sql(reader, f"SELECT COUNT(*) FROM {table} WHERE token = '{token}'") == [["1"]],
                          timeout=15, what=f"{writer}'s write on {reader}")

    def wait_for(self, predicate, timeout: float = 30, interval: float = 0.5, what: str = "condition"):
        """Poll PREDICATE (bounded in time) until it returns a truthy value; that value."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"{what} not reached within {timeout:.0f} s (last: {value!r})")

    def curl(self, path: str, via: str | None = None, method: str = "GET", connect_timeout: float = 5,
             max_time: float = 30) -> tuple[int, dict, float]:
        """(HTTP status, answer lines as a dict, seconds) for https://<cluster fqdn>PATH from the client.

        VIA pins the cluster FQDN to one node's address (the name and certificate stay the cluster's).
        """
        args = ["curl", "-sS", "--cacert", CLIENT_CA, "--connect-timeout", str(connect_timeout),
                "--max-time", str(max_time), "-X", method, "-o", "-", "-w", "\n%{http_code} %{time_total}"]
        if via:
            args += ["--resolve", f"{self.fqdn}:443:{self.nodes[via]['address']}"]
        proc = self.docker("exec", self.client, *args, f"https://{self.fqdn}{path}", timeout=max_time + 15,
                           check=False)
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            return 0, {"curl_error": proc.stderr.strip()}, 0.0
        code, seconds = lines[-1].split()
        body = {}
        for line in lines[:-1]:
            if "=" in line:
                key, value = line.split("=", 1)
                body[key] = value
        return int(code), body, float(seconds)


@pytest.fixture(scope="session")
def lab() -> Lab:
    cfg = containers.LabConfig.from_env()
    containers.up(cfg)
    handle = Lab(cfg, containers.write_state(cfg))
    run = handle.deploy()
    assert run.returncode == 0, f"the deploy into the lab failed:\n{run.output[-5000:]}"
    handle.state = containers.write_state(cfg)  # the CA exists now
    handle.docker("cp", handle.state["ca_cert"], f"{handle.client}:{CLIENT_CA}")
    return handle
