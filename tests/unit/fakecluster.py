"""Run a deploy function against two fake nodes (pyinfra's ``@fake`` connector) and collect, per
node, each operation's name and the commands it would run, from recorded facts and no server.

Facts not given in ``responses`` answer with empty output, i.e. a fresh node: nothing installed,
no files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pyinfra.api import Config, Inventory, State
from pyinfra.api.connect import connect_all
from pyinfra.api.deploy import add_deploy
from pyinfra.context import ctx_config, ctx_host, ctx_inventory, ctx_state

FACTS = Path(__file__).resolve().parent / "facts"
RELEASE_CMD = "ls -pdL *-release"


@dataclass
class Op:
    name: str
    commands: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.commands)


def release(os_key: str) -> str:
    """Recorded ``/etc/*-release`` output of a node (what pyinfra's LinuxDistribution fact reads)."""
    return (FACTS / f"{os_key}-release.txt").read_text()


def _command_text(command) -> str:
    if hasattr(command, "get_masked_value"):
        return command.get_masked_value()
    dest = getattr(command, "dest", None)
    if dest is not None:
        return f"upload {dest}"
    return repr(command)


def run(deploy_func, os_key: str, state_dir: Path, data: dict | None = None,
        responses: dict | None = None) -> dict[str, list[Op]]:
    """{node name: [Op, ...]} for DEPLOY_FUNC on a two-node cluster of OS_KEY ("centos7", "debian12")."""
    fake = {RELEASE_CMD: release(os_key), **(responses or {})}
    group = {
        "qm_cluster_fqdn": "queuemetrics.example.com",
        "qm_local_state_dir": str(state_dir),
        "fake_delay": 0,
        "fake_delay_jitter": 0,
        "fake_responses": fake,
        **(data or {}),
    }
    hosts = [
        ("@fake/node-a", {"qm_node_fqdn": "node-a.example.com", "qm_node_address": "192.168.1.5"}),
        ("@fake/node-b", {"qm_node_fqdn": "node-b.example.com", "qm_node_address": "192.168.1.6"}),
    ]
    inventory = Inventory((hosts, {}), all=([h for h, _ in hosts], group))
    state = State(inventory, Config())
    connect_all(state)
    with ctx_inventory.use(inventory), ctx_config.use(state.config):
        add_deploy(state, deploy_func)
    result: dict[str, list[Op]] = {}
    for host in inventory:
        ops = []
        with ctx_state.use(state), ctx_inventory.use(inventory), ctx_host.use(host):
            for op_hash in state.get_op_order():
                if op_hash not in state.ops[host]:
                    continue
                op_data = state.get_op_data_for_host(host, op_hash)
                name = ", ".join(sorted(state.get_op_meta(op_hash).names))
                ops.append(Op(name, [_command_text(c) for c in op_data.command_generator()]))
        result[host.name.removeprefix("@fake/")] = ops
    return result


def find(ops: list[Op], pattern: str) -> Op:
    """The one operation whose name matches PATTERN (a regular expression)."""
    hits = [op for op in ops if re.search(pattern, op.name)]
    assert len(hits) == 1, f"{len(hits)} operations match {pattern!r}: {[op.name for op in ops]}"
    return hits[0]


def all_commands(ops: list[Op]) -> str:
    return "\n".join(op.text for op in ops)
