"""Run the deploy through pyinfra's API against two ``@fake`` hosts fed recorded fact outputs.

``plan(fixture)`` returns, per host, the commands the whole deploy.py would run (nothing is
executed): what a real deploy would do to a fresh node whose preflight facts are the recorded ones.
``run(phase.configure, os_key)`` does the same for one phase (given the run context, as deploy.py
gives it), operation by operation, by name.
Facts not recorded answer empty, as on a node where nothing is installed yet.
"""

from __future__ import annotations

import copy
import json
import re
import runpy
from dataclasses import dataclass, field
from pathlib import Path

from pyinfra.api import Config, Inventory, State
from pyinfra.api.command import FileUploadCommand, StringCommand
from pyinfra.api.connect import connect_all
from pyinfra.api.deploy import add_deploy
from pyinfra.context import ctx_config, ctx_host, ctx_inventory, ctx_state
from pyinfra_cli.util import load_deploy_file

from operations import context

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def load_fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def set_response(fixture: dict, node: str, matcher: str, output: str) -> dict:
    """A copy of FIXTURE where NODE answers MATCHER with OUTPUT (a broken node, for preflight)."""
    fixture = copy.deepcopy(fixture)
    responses = fixture["hosts"][node]["responses"]
    for item in responses:
        if item[0] == matcher:
            item[1] = output
            break
    else:
        responses.insert(0, [matcher, output])
    return fixture


def el_releases() -> dict[str, dict]:
    """EL releases by name ("rocky8", "alma9", ...): their ``/etc/*-release`` files and the row expected."""
    return load_fixture("el_releases")["releases"]


def release_output(files: dict[str, str]) -> str:
    """What pyinfra's ``LinuxDistribution`` command prints on a node holding FILES (path -> text)."""
    return "".join(f"{path}\n{text.rstrip(chr(10))}\n---\n" for path, text in sorted(files.items())).rstrip("\n")


def release_fixture(release: str) -> dict:
    """The CentOS 7 nodes' facts, with RELEASE's ``/etc/*-release`` files (``el_releases``) instead."""
    fixture = load_fixture("el7")
    text = release_output(el_releases()[release]["files"])
    for node in fixture["hosts"]:
        fixture = set_response(fixture, node, "-release", text)
    return fixture


#: the release each EL row's phase tests run on (any release of the row plans the same)
ROW_RELEASE = {"el8": "rocky8", "el9": "alma9"}


def fixture_for(os_key: str) -> dict:
    """Two nodes of the seed's example (192.168.1.5/.6) running OS_KEY ("centos7", "debian12", or an EL
    row of ``ROW_RELEASE``)."""
    if os_key in ROW_RELEASE:
        return release_fixture(ROW_RELEASE[os_key])
    fixture = load_fixture("el7")
    if os_key == "debian12":
        debian_release = dict(load_fixture("debian12")["hosts"]["node-a"]["responses"])["-release"]
        for node in fixture["hosts"]:
            fixture = set_response(fixture, node, "-release", debian_release)
    return fixture


def make_inventory(fixture: dict, state_dir: Path, responses: dict | None = None, **group_data) -> Inventory:
    """Two @fake hosts answering from FIXTURE (RESPONSES first); the control-machine state in STATE_DIR."""
    defaults = {k: v for k, v in runpy.run_path(str(REPO / "inventories/group_data/all.py")).items()
                if not k.startswith("__")}
    group = {
        **defaults,
        "qm_cluster_fqdn": fixture["cluster_fqdn"],
        "qm_local_state_dir": str(state_dir),
        # the lab's webapp, as the lab inventory allows it (a customer's inventory may not)
        "qm_lab": True,
        "qm_app_mode": "standin",
        "fake_delay": 0,
        "fake_delay_jitter": 0,
        **fixture.get("group_data", {}),
        **group_data,
    }
    hosts = []
    for name, spec in fixture["hosts"].items():
        answers = dict(responses or {})  # first match wins: overrides before the recorded facts
        for matcher, output in spec["responses"]:
            answers.setdefault(matcher, output)
        hosts.append((f"@fake/{name}", {**spec["data"], "fake_responses": answers}))
    names = [h[0] for h in hosts]
    return Inventory((hosts, {}), qm_nodes=(names, group))


def command_text(command) -> str:
    if isinstance(command, StringCommand):
        return command.get_masked_value()
    if isinstance(command, FileUploadCommand):
        src = command.src
        if hasattr(src, "read"):
            src.seek(0)
            body = src.read()
        else:
            body = Path(src).read_bytes()
        if isinstance(body, bytes):
            try:
                body = body.decode()
            except UnicodeDecodeError:
                body = f"<{len(body)} bytes>"
        return f"upload {command.dest}\n{body}"
    return repr(command)


def plan(fixture: dict, tmp_dir: Path, **group_data) -> dict[str, list[str]]:
    """Prepare deploy.py for both fake hosts and return each host's commands, in order."""
    inventory = make_inventory(fixture, tmp_dir / "control", **group_data)
    config = Config()
    state = State(check_for_changes=False)
    state.cwd = str(REPO)
    with ctx_state.use(state), ctx_inventory.use(inventory), ctx_config.use(config):
        state.init(inventory, config)
        connect_all(state)
        load_deploy_file(state, str(REPO / "deploy.py"))
        result: dict[str, list[str]] = {}
        for host in inventory:
            commands = []
            with ctx_host.use(host):
                for op_hash in state.get_op_order():
                    if op_hash not in state.ops[host]:  # an operation only the other host has
                        continue
                    op_data = state.get_op_data_for_host(host, op_hash)
                    commands += [command_text(c) for c in op_data.command_generator()]
            result[host.name.removeprefix("@fake/")] = commands
    return result


@dataclass
class Op:
    name: str
    commands: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.commands)


def run(deploy_func, os_key: str, state_dir: Path, data: dict | None = None,
        responses: dict | None = None) -> dict[str, list[Op]]:
    """{node: [Op, ...]} for one phase's ``configure(run)`` on two fresh OS_KEY nodes (no preflight)."""
    inventory = make_inventory(fixture_for(os_key), state_dir, responses=responses, **(data or {}))
    state = State(inventory, Config())
    connect_all(state)
    with ctx_inventory.use(inventory), ctx_config.use(state.config):
        add_deploy(state, lambda: deploy_func(context.current()))
    result: dict[str, list[Op]] = {}
    for host in inventory:
        ops = []
        with ctx_state.use(state), ctx_inventory.use(inventory), ctx_host.use(host):
            for op_hash in state.get_op_order():
                if op_hash not in state.ops[host]:
                    continue
                op_data = state.get_op_data_for_host(host, op_hash)
                name = ", ".join(sorted(state.get_op_meta(op_hash).names))
                ops.append(Op(name, [command_text(c) for c in op_data.command_generator()]))
        result[host.name.removeprefix("@fake/")] = ops
    return result


def find(ops: list[Op], pattern: str) -> Op:
    """The one operation whose name matches PATTERN (a regular expression)."""
    hits = [op for op in ops if re.search(pattern, op.name)]
    assert len(hits) == 1, f"{len(hits)} operations match {pattern!r}: {[op.name for op in ops]}"
    return hits[0]


def all_commands(ops: list[Op]) -> str:
    return "\n".join(op.text for op in ops)
