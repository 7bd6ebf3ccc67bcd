"""Many facts in one command: each fact's own command runs in a subshell, its output and exit status
marked off, and each is processed by its own fact class, as pyinfra would have processed it alone.

A node answers one SSH command instead of one per fact; the values are the same as each fact's
(``tests/lab/test_prefetch_lab.py`` compares them on real nodes).

Example:

.. code:: python

    from pyinfra.facts.files import File, Directory
    from operations.facts.batch import Batch
    host.get_fact(Batch, facts=[(File, {"path": "/etc/hosts"}), (Directory, {"path": "/etc"})])
    # [{"user": "root", "mode": 644, ...}, {"user": "root", "mode": 755, ...}]
"""

from __future__ import annotations

import re
import secrets
import shlex
from inspect import getcallargs
from typing import Any

from pyinfra.api import FactBase, StringCommand
from pyinfra.facts.files import Directory, File, Link, Sha1File, Sha256File

from .system import UnitState

#: printed by a part whose ``requires_command`` is missing (pyinfra returns the fact's default then)
MISSING = "__qmha_missing_command__"


def fact_arguments(cls: type[FactBase], kwargs: dict) -> dict:
    """KWARGS as pyinfra hands them to CLS's command: defaults filled in, ``self`` left out."""
    args = getcallargs(cls().command, **kwargs)
    args.pop("self", None)
    return args


def _text(command: Any) -> str:
    return command.get_raw_value() if isinstance(command, StringCommand) else str(command)


#: the value of a part that could not be processed (``node_fact`` then reads that fact alone)
UNREAD = object()


def part_command(fact: FactBase, kwargs: dict) -> str:
    """The shell text that prints what FACT (an instance) with KWARGS prints, or ``MISSING`` when the
    command it requires is absent (as pyinfra's own guard does). FACT then processes the output:
    some facts keep what their command chose."""
    args = fact_arguments(type(fact), kwargs)
    command = _text(fact.command(**args) if callable(fact.command) else fact.command)
    requires = fact.requires_command(**args) if callable(fact.requires_command) else fact.requires_command
    if requires:
        return f"if command -v {_text(requires)} >/dev/null 2>&1; then ( {command} ); else echo '{MISSING}'; fi"
    return f"( {command} )"


def part_value(fact: FactBase, status: int, lines: list[str]) -> Any:
    """What pyinfra's ``get_fact`` returns for FACT given its command's exit STATUS and stdout LINES
    (outside the execute stage): the default on failure, no output or a missing command;
    ``UNREAD`` when the output cannot be processed."""
    if status != 0 or not lines or lines == [MISSING]:
        return fact.default()
    try:
        return fact.process(lines)
    except Exception:  # noqa: BLE001 - read alone, pyinfra reports it as it does
        return UNREAD


#: parts run at once on the node (the database's facts each wait on the server)
LANES = 4


def batch_script(parts: list[str], marker: str, lanes: int = LANES) -> str:
    """The shell script that runs PARTS in LANES concurrent lanes (part i in lane i mod LANES), each
    part's output and exit status kept in a private temporary folder (``mktemp -d``: the owner's
    only, removed on exit), then prints them in order, each followed by a line ``MARKER <status>``."""
    if not parts:
        return "true"
    lines = ['d=$(mktemp -d) || exit 1', "trap 'rm -rf \"$d\"' EXIT"]
    for lane in range(min(lanes, len(parts))):
        steps = [f'{parts[i]} >"$d/{i}" 2>/dev/null </dev/null; echo $? >"$d/{i}.rc"'
                 for i in range(lane, len(parts), lanes)]
        lines.append("{ " + "; ".join(steps) + "; } &")
    lines.append("wait")
    lines.append(f'for i in {" ".join(str(i) for i in range(len(parts)))}; do '
                 f'cat "$d/$i"; echo; echo "{marker} $(cat "$d/$i.rc")"; done')
    return "\n".join(lines)


#: the state of many paths in one process: what pyinfra's ``File``, ``Directory`` and ``Link`` print
#: for each (GNU ``stat``, as on every supported node), after the path and a ``|``
STAT_FORMAT = "%n|user=%U group=%G mode=%A atime=%X mtime=%Y ctime=%Z size=%s %N"
#: checksum facts read together by their tool (what pyinfra's fact runs first)
SUM_TOOLS = {Sha256File: "sha256sum", Sha1File: "sha1sum"}
#: paths read together: plain absolute paths (anything else is read by the fact's own command)
PLAIN_PATH = re.compile(r"^/[A-Za-z0-9._/+@:-]*$")


#: what ``UnitState`` asks ``systemctl show`` for (each unit's block, in the order asked)
UNIT_PROPERTIES = "--property SubState --property UnitFileState"
#: unit names read together (anything else is read by the fact's own command)
PLAIN_UNIT = re.compile(r"^[A-Za-z0-9@._:-]+$")


def shared_tool(cls: type, kwargs: dict) -> str | None:
    """The one command that reads CLS for many paths or units at once ("stat", a checksum tool,
    "systemctl"), or None."""
    if cls is UnitState:
        unit = kwargs.get("unit")
        return "systemctl" if set(kwargs) == {"unit"} and isinstance(unit, str) and PLAIN_UNIT.match(unit) else None
    path = kwargs.get("path")
    if set(kwargs) != {"path"} or not isinstance(path, str) or not PLAIN_PATH.match(path):
        return None
    if cls in (File, Directory, Link):
        return "stat"
    return SUM_TOOLS.get(cls)


def shared_command(tool: str, names: list[str]) -> str:
    """TOOL run once over NAMES (paths, or units for "systemctl"); a missing path prints nothing
    (as each fact alone)."""
    quoted = " ".join(shlex.quote(p) for p in names)
    if tool == "stat":
        return f"( stat -c {shlex.quote(STAT_FORMAT)} -- {quoted}; true )"
    if tool == "systemctl":
        return f"( systemctl show {UNIT_PROPERTIES} -- {quoted}; true )"
    return f"( {tool} -- {quoted}; true )"


def shared_lines(tool: str, lines: list[str], names: list[str]) -> dict[str, list[str]]:
    """Each name's lines, as the fact alone would print them, from TOOL's output over NAMES (in
    that order); a name not found in it is left out (its fact is then read alone)."""
    out: dict[str, list[str]] = {}
    if tool == "systemctl":  # one block a unit, in the order asked, blank lines between
        blocks: list[list[str]] = [[]]
        for line in lines:
            if line.strip():
                blocks[-1].append(line)
            elif blocks[-1]:
                blocks.append([])
        blocks = [b for b in blocks if b]
        return dict(zip(names, blocks)) if len(blocks) == len(names) else {}
    for line in lines:
        if tool == "stat":
            path, _, rest = line.partition("|")
        else:
            rest, _, path = line.partition("  ")
        if path and rest:
            out[path] = [line if tool != "stat" else rest]
    return out


class Batch(FactBase):
    """The values of FACTS (a list of ``(fact class, kwargs)``), in order, read by one command.

    Files' state and checksums are read together (one ``stat``, one ``sha256sum`` for every path),
    units' states too (one ``systemctl show``); every other fact by its own command.

    .. code:: python

        host.get_fact(Batch, facts=[(File, {"path": "/etc/hosts"})])   # [{"user": "root", ...}]
    """

    def command(self, facts: list, lanes: int = LANES) -> str:
        self.marker = f"@@qmha-batch-{secrets.token_hex(8)}"
        self.parts = [cls() for cls, _ in facts]
        shared: dict[str, list[int]] = {}
        self.slots: list[tuple[str, object]] = []
        texts = []
        for i, (fact, (cls, kwargs)) in enumerate(zip(self.parts, facts)):
            tool = shared_tool(cls, kwargs)
            if tool:
                fact.command(**fact_arguments(cls, kwargs))  # what the fact keeps for its processing
                shared.setdefault(tool, []).append(i)
                continue
            self.slots.append(("fact", i))
            texts.append(part_command(fact, kwargs))
        self.names = {i: kwargs.get("path", kwargs.get("unit")) for i, (_, kwargs) in enumerate(facts)}
        self.asked: dict[str, list[str]] = {}
        for tool, indices in shared.items():
            self.slots.append((tool, indices))
            self.asked[tool] = sorted({self.names[i] for i in indices})
            texts.append(shared_command(tool, self.asked[tool]))
        return batch_script(texts, self.marker, lanes)

    def process(self, output: list[str]) -> list:
        values: list = [UNREAD] * len(self.parts)
        sections, lines = [], []
        for line in output:
            if line.startswith(self.marker + " "):
                # each part ends with an extra newline so a last line without one is kept whole
                sections.append((int(line.split()[-1]), lines[:-1] if lines and lines[-1] == "" else lines))
                lines = []
            else:
                lines.append(line)
        for (kind, what), (status, body) in zip(self.slots, sections):
            if kind == "fact":
                values[what] = part_value(self.parts[what], status, body)
                continue
            by_name = shared_lines(kind, body, self.asked[kind])
            for i in what:
                if kind == "systemctl" and self.names[i] not in by_name:
                    continue  # unexpected output: read alone
                values[i] = part_value(self.parts[i], 0, by_name.get(self.names[i], []))
        return values
