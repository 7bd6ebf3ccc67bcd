"""Facts read ahead: a deployed node remembers what the run read of it; the next run reads all of it in
one command, values equal to each fact read alone; a re-run with nothing to do costs each node a few
commands, and what changed on a node since still is found, shown and put right."""

import re

import pytest

from operations import paths
from operations.facts.batch import Batch, part_command, part_value
from operations.prefetch import FACTS_READ, parse_list
from tests.lab.test_preview_lab import changed, plan

pytestmark = pytest.mark.lab

CHRONY_OPTIONS = "/etc/default/chrony"
#: facts whose value moves by itself between two reads on a live node
MOVING = {"FreeMiB", "EpochTime"}


@pytest.fixture(scope="module")
def converged(lab):
    run = lab.deploy()
    assert run.returncode == 0, run.output[-3000:]
    return lab


def remembered(lab, name: str) -> list:
    return parse_list(lab.on(name, f"cat {FACTS_READ}"))


def commands_per_node(output: str) -> dict[str, int]:
    """Fact commands each node answered in a run (pyinfra's debug log)."""
    counts: dict[str, int] = {}
    for node in re.findall(r"\[(node-[ab])\] Loaded fact", output):
        counts[node] = counts.get(node, 0) + 1
    return counts


def test_each_node_remembers_the_facts_of_the_run_root_only(converged):
    for name in converged.names:
        assert converged.on(name, f"stat -c %a:%U {FACTS_READ}").strip() == "600:root"
        facts = {cls.__name__ for cls, _, _ in remembered(converged, name)}
        assert {"File", "Sha256File", "Directory", "UnitState", "MariadbServer", "LinuxDistribution"} <= facts


def test_facts_read_ahead_are_what_each_fact_says_alone(converged):
    for name in converged.names:
        ahead = [(cls, kwargs) for cls, kwargs, _ in remembered(converged, name)]
        batch = Batch()
        together = batch.process(converged.on(name, batch.command(facts=ahead)).splitlines())
        assert len(together) == len(ahead)
        for (cls, kwargs), value in zip(ahead, together):
            if cls.__name__ in MOVING:
                continue
            fact = cls()
            alone = converged.node(name, part_command(fact, kwargs), check=False)
            lines = alone.stdout.splitlines()
            assert value == part_value(fact, alone.returncode, lines), f"{name}: {cls.__name__} {kwargs}"


def test_a_re_run_with_nothing_to_do_reads_each_node_in_three_commands(converged):
    run = converged.deploy("--debug")
    assert run.returncode == 0, run.output[-3000:]
    assert run.changed() == "-"
    # the remembered list, the facts read ahead, the clock (read at the moment preflight compares it)
    assert commands_per_node(run.output) == {"node-a": 3, "node-b": 3}


def test_a_preview_with_nothing_to_do_reads_each_node_in_three_commands(converged):
    run = converged.deploy("--dry", "--diff", "--debug", yes=False)
    assert run.returncode == 0, run.output[-3000:]
    assert "Will modify" not in run.output and "Will create" not in run.output
    assert commands_per_node(run.output) == {"node-a": 3, "node-b": 3}


def test_a_file_changed_on_a_node_since_the_last_run_is_shown_and_put_back(converged):
    before = converged.on("node-a", f"cat {CHRONY_OPTIONS}")
    converged.on("node-a", f"echo '# edited by hand' >> {CHRONY_OPTIONS}")
    try:
        preview = converged.deploy("--dry", "--diff", yes=False)
        assert f"[node-a] Will modify {CHRONY_OPTIONS}" in preview.output, preview.output[-3000:]
        assert "# edited by hand" in preview.output
        assert f"[node-b] Will modify {CHRONY_OPTIONS}" not in preview.output
    finally:
        run = converged.deploy()
    assert run.returncode == 0, run.output[-3000:]
    assert converged.on("node-a", f"cat {CHRONY_OPTIONS}") == before


def test_a_changed_mode_and_owner_are_found_and_put_back(converged):
    converged.on("node-b", f"chmod 0644 {paths.SYNC_CONF} && chown nobody {paths.SQL_DIR}")
    try:
        planned = changed(plan(converged))
        assert any(n.endswith(f"| {paths.SYNC_CONF}") for n in planned), planned
        assert any(n.endswith(f"| {paths.SQL_DIR}") for n in planned), planned
    finally:
        run = converged.deploy()
    assert run.returncode == 0, run.output[-3000:]
    assert run.changed() != "-"
    assert converged.on("node-b", f"stat -c %a {paths.SYNC_CONF}").strip() == "700"
    assert converged.on("node-b", f"stat -c %U {paths.SQL_DIR}").strip() == "root"


def test_a_unit_stopped_since_the_last_run_is_started_again(converged):
    converged.on("node-a", "systemctl stop qmha-backup.timer")
    run = converged.deploy()
    assert run.returncode == 0, run.output[-3000:]
    assert converged.on("node-a", "systemctl is-active qmha-backup.timer").strip() == "active"


def test_a_node_that_lost_its_list_is_read_fact_by_fact_once_then_remembered_again(converged):
    converged.on("node-a", f"rm -f {FACTS_READ}")
    first = converged.deploy("--debug")
    assert first.returncode == 0, first.output[-3000:]
    assert first.changed() == "-"  # the list is bookkeeping, not a change
    assert commands_per_node(first.output)["node-a"] > 50
    again = converged.deploy("--debug")
    assert commands_per_node(again.output) == {"node-a": 3, "node-b": 3}
