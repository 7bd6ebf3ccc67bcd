"""Run deploy.py through pyinfra's API against two ``@fake`` hosts fed recorded fact outputs.

``plan(fixture)`` returns, per host, the commands the deploy would run (nothing is executed):
what a real deploy would do to a fresh node whose preflight facts are the recorded ones.
Facts not recorded answer empty, as on a node where nothing is installed yet.
"""

from __future__ import annotations

import copy
import json
import runpy
from pathlib import Path

from pyinfra.api import Config, Inventory, State
from pyinfra.api.command import FileUploadCommand, StringCommand
from pyinfra.api.connect import connect_all
from pyinfra.context import ctx_config, ctx_host, ctx_inventory, ctx_state
from pyinfra_cli.util import load_deploy_file

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


def make_inventory(fixture: dict, tmp_dir: Path, **group_data) -> Inventory:
    defaults = {k: v for k, v in runpy.run_path(str(REPO / "inventories/group_data/all.py")).items()
                if not k.startswith("__")}
    group = {
        **defaults,
        "qm_cluster_fqdn": fixture["cluster_fqdn"],
        "qm_local_state_dir": str(tmp_dir / "control"),
        "fake_delay": 0,
        "fake_delay_jitter": 0,
        **fixture.get("group_data", {}),
        **group_data,
    }
    hosts = []
    for name, spec in fixture["hosts"].items():
        responses = {matcher: output for matcher, output in spec["responses"]}
        hosts.append((f"@fake/{name}", {**spec["data"], "fake_responses": responses}))
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
            body = body.decode() if isinstance(body, bytes) else body
        else:
            body = Path(src).read_text()
        return f"upload {command.dest}\n{body}"
    return repr(command)


def plan(fixture: dict, tmp_dir: Path, **group_data) -> dict[str, list[str]]:
    """Prepare deploy.py for both fake hosts and return each host's commands, in order."""
    inventory = make_inventory(fixture, tmp_dir, **group_data)
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
                    op_data = state.get_op_data_for_host(host, op_hash)
                    commands += [command_text(c) for c in op_data.command_generator()]
            result[host.name.removeprefix("@fake/")] = commands
    return result
