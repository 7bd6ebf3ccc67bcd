"""Minimal lab fixture for the application and web tests: the lab described by ``QMHA_LAB_STATE``
(default ``.lab/state.json``), brought up and deployed beforehand (``make lab``)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
CLIENT_CA = "/tmp/qmha-ca.crt"


class Lab:
    def __init__(self, state: dict):
        self.state = state
        self.fqdn = state["fqdn"]
        self.client = state["client_container"]
        self.nodes = {n["name"]: n for n in state["nodes"]}

    def docker(self, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc

    def node(self, name: str, command: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
        return self.docker("exec", self.nodes[name]["container"], "sh", "-c", command, timeout=timeout, check=check)

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
    path = Path(os.environ.get("QMHA_LAB_STATE") or REPO / ".lab" / "state.json")
    if not path.exists():
        pytest.skip(f"no lab state at {path}: run `make lab` first")
    state = json.loads(path.read_text())
    lab = Lab(state)
    # The state is written at `lab up`, maybe before the first deploy made the CA.
    ca = state.get("ca_cert") or str(REPO / ".qmha" / lab.fqdn / "tls" / "ca.crt")
    assert Path(ca).exists(), f"no cluster CA at {ca}: deploy the lab first"
    lab.docker("cp", ca, f"{lab.client}:{CLIENT_CA}")
    return lab
