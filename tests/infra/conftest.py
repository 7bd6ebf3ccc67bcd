"""Minimal bridge from the lab to testinfra: ``host`` is each lab node over SSH (the lab's key and
known hosts), read from ``QMHA_LAB_STATE`` (default ``.lab/state.json``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import testinfra

REPO = Path(__file__).resolve().parent.parent.parent


def _state() -> dict | None:
    path = Path(os.environ.get("QMHA_LAB_STATE") or REPO / ".lab" / "state.json")
    return json.loads(path.read_text()) if path.exists() else None


def pytest_generate_tests(metafunc):
    if "host" not in metafunc.fixturenames:
        return
    state = _state()
    nodes = state["nodes"] if state else []
    metafunc.parametrize("node", nodes, ids=[n["name"] for n in nodes], indirect=True, scope="session")


@pytest.fixture(scope="session")
def node(request):
    return request.param


@pytest.fixture(scope="session")
def host(node):
    state = _state()
    return testinfra.get_host(
        f"ssh://root@{node['ssh_host']}:{node['ssh_port']}",
        ssh_identity_file=state["ssh_key"],
        ssh_extra_args=f"-o UserKnownHostsFile={state['known_hosts']} -o StrictHostKeyChecking=yes",
    )
