"""Session fixtures shared by the lab and infra suites.

``lab`` brings the two-node lab up once per test session (reusing, restarting or recreating what
it finds), runs the deploy into it, and hands the tests a ``Lab`` to deploy again, run commands in
containers, and read the state. Tests that break something restore it themselves.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab import cluster, docker

REPO = Path(__file__).resolve().parent.parent
PYINFRA = str(Path(sys.executable).with_name("pyinfra"))


@dataclass
class DeployRun:
    returncode: int
    output: str

    def totals(self) -> dict[str, str]:
        """The 'Grand total' row of pyinfra's results: hosts, success (changed), error, no change."""
        match = re.search(r"Grand total\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", self.output)
        assert match, f"no results table in the deploy output:\n{self.output[-3000:]}"
        return dict(zip(["hosts", "changed", "error", "unchanged"], match.groups()))


@dataclass
class Lab:
    cfg: cluster.LabConfig
    state: dict

    @property
    def inventory(self) -> str:
        return str(REPO / "inventories/lab.py")

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "QMHA_LAB_STATE": str(self.cfg.state_file)}

    def deploy(self, *args: str, inventory: str | None = None, timeout: float = 900) -> DeployRun:
        cmd = [PYINFRA, "-y", inventory or self.inventory, "deploy.py", *args]
        proc = subprocess.run(cmd, cwd=REPO, env=self.env, capture_output=True, text=True, timeout=timeout)
        return DeployRun(proc.returncode, proc.stdout + proc.stderr)

    def node(self, name: str) -> dict:
        return next(n for n in self.state["nodes"] if n["name"] == name)

    def sh(self, container: str, command: str, check: bool = True, timeout: float = 60) -> str:
        proc = docker.run("exec", container, "sh", "-c", command, check=False, timeout=timeout)
        if check:
            assert proc.returncode == 0, f"{container}: `{command}` failed: {proc.stdout}{proc.stderr}"
        return proc.stdout

    def on(self, node_name: str, command: str, check: bool = True, timeout: float = 60) -> str:
        return self.sh(self.node(node_name)["container"], command, check, timeout)


@pytest.fixture(scope="session")
def lab() -> Lab:
    cfg = cluster.LabConfig.from_env()
    cluster.up(cfg)
    handle = Lab(cfg, cluster.write_state(cfg))
    run = handle.deploy()
    assert run.returncode == 0, f"the deploy into the lab failed:\n{run.output[-5000:]}"
    handle.state = cluster.write_state(cfg)  # the CA exists now
    return handle
