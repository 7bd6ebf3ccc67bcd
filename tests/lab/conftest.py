"""The database tests' view of the lab: SQL on a node (as root, over the socket, in its container),
the replication fact, and the deploy.

``dblab`` uses the session-wide ``lab`` fixture when the suite has one; otherwise it brings the lab
up (reusing what it finds) and deploys once itself.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab import cluster, docker
from operations.facts import ReplicationStatus

REPO = Path(__file__).resolve().parents[2]
PYINFRA = str(Path(sys.executable).with_name("pyinfra"))


@dataclass
class Deployed:
    returncode: int
    output: str

    def changed(self) -> str:
        """The 'Success' (changed) column of pyinfra's Grand total row: "-" when nothing changed."""
        match = re.search(r"Grand total\s+\S+\s+(\S+)\s+(\S+)", self.output)
        assert match, f"no results table in the deploy output:\n{self.output[-3000:]}"
        return match.group(1)


class DbLab:
    def __init__(self, cfg: cluster.LabConfig, state: dict):
        self.cfg, self.state = cfg, state
        self.nodes = {n["name"]: n for n in state["nodes"]}
        self.names = [n["name"] for n in state["nodes"]]

    def container(self, name: str) -> str:
        return self.nodes[name]["container"]

    def deploy(self, *args: str, timeout: float = 900) -> Deployed:
        env = {**os.environ, "QMHA_LAB_STATE": str(self.cfg.state_file)}
        proc = subprocess.run([PYINFRA, "-y", "inventories/lab.py", "deploy.py", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=timeout)
        return Deployed(proc.returncode, proc.stdout + proc.stderr)

    def sh(self, name: str, command: str, timeout: float = 120, check: bool = True) -> str:
        proc = docker.run("exec", self.container(name), "sh", "-c", command, check=False, timeout=timeout)
        if check:
            assert proc.returncode == 0, f"{name}: `{command}` failed: {proc.stdout}{proc.stderr}"
        return proc.stdout

    def sql(self, name: str, statements: str, timeout: float = 120) -> list[list[str]]:
        """Rows of the last result of STATEMENTS run as root on node NAME (SQL on stdin)."""
        proc = docker.run("exec", "-i", self.container(name), "mariadb", "-NB", check=False, timeout=timeout,
                          input=statements)
        assert proc.returncode == 0, f"{name}: SQL failed: {proc.stderr}"
        return [line.split("\t") for line in proc.stdout.splitlines() if line]

    def replication(self, name: str) -> dict:
        out = self.sh(name, ReplicationStatus().command())
        return ReplicationStatus().process(out.splitlines())

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

    def channels_running(self) -> bool:
        for name in self.names:
            ch = self.replication(name)["channel"]
            if not ch or (ch["io_running"], ch["sql_running"]) != ("Yes", "Yes"):
                return False
        return True


@pytest.fixture(scope="session")
def dblab(request) -> DbLab:
    cfg = cluster.LabConfig.from_env()
    try:
        shared = request.getfixturevalue("lab")
        return DbLab(shared.cfg, shared.state)
    except pytest.FixtureLookupError:
        pass
    cluster.up(cfg)
    handle = DbLab(cfg, cluster.write_state(cfg))
    run = handle.deploy()
    assert run.returncode == 0, f"the deploy into the lab failed:\n{run.output[-5000:]}"
    return handle
