"""Facts read ahead: what the last run read of a node, read again in one command at the start.

A deploy reads about 150 facts of each node (files' state and checksums, units, users, the
database's state); one SSH command each made a no-op re-run or a preview 20 times slower than
connecting. Every fact the deploy reads goes through ``node_fact``; the facts of a run are
remembered on the node (``FACTS_READ``, a list of fact names and arguments, root only); the next
run reads that list and all its facts in one ``Batch`` command, before any phase, and hands them
on. A fact not in the list (a first run, a new file after an upgrade, a changed knob) is read
alone, as before; the list is rewritten after the run's last operation only when it differs
(``remember_at_end``).

Values are read at the start of the run's preparation (pyinfra prepares every operation before
any runs, then runs each one's generator again, reading its facts again); a fact not in the list is
read alone once and kept with them. They stand for the node until this run changes it: from the
first operation that ran a command on a node, ``node_fact`` reads that node's facts afresh, as
pyinfra would.

Example:

.. code:: python

    from pyinfra.facts.files import File
    from operations.prefetch import node_fact
    node_fact(host, File, path="/etc/hosts")    # {"user": "root", "mode": 644, ...}
"""

from __future__ import annotations

import importlib
import io
import json
from typing import Any

from gevent.lock import RLock
from pyinfra.api import StringCommand
from pyinfra.api.facts import FactBase, ShortFactBase
from pyinfra.api.state import BaseStateCallback, StateStage
from pyinfra.context import ctx_state
from pyinfra.facts.files import FileContents

from . import paths
from .elevated import as_inventory_says
from .facts.batch import UNREAD, Batch, fact_arguments
from .memo import per_run

FACTS_READ = f"{paths.STATE}/facts-read.json"

#: facts never read ahead: what they say depends on the moment (the clock, a neighbour's answer,
#: a mirror), they run a command named in their arguments, or they cost time a run rarely needs
#: (the size of the data directory, read only when a rebuild is asked for)
NOT_AHEAD = {"EpochTime", "AddressAnswers", "UrlAnswers", "CommandSucceeds", "DirectoryMiB"}
#: fact modules read ahead (a class elsewhere is read alone)
MODULES = ("pyinfra.facts.", "operations.facts.")

_LOCK = RLock()


def fact_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _resolve(name: str) -> type | None:
    module, _, qualname = name.partition(":")
    if not module.startswith(MODULES):
        return None
    try:
        return getattr(importlib.import_module(module), qualname)
    except (ImportError, AttributeError):
        return None


def fact_key(cls: type, kwargs: dict) -> str | None:
    """The key of CLS with KWARGS in the list, or None when it is not read ahead."""
    if (not isinstance(cls, type) or not issubclass(cls, FactBase) or issubclass(cls, ShortFactBase)
            or cls.__name__ in NOT_AHEAD or not cls.__module__.startswith(MODULES)):
        return None
    try:
        return json.dumps([fact_name(cls), fact_arguments(cls, kwargs)], sort_keys=True)
    except (TypeError, ValueError):
        return None


def parse_list(text: str | None) -> list[tuple[type, dict, str]]:
    """The facts of a remembered list (its JSON text): ``(class, kwargs, key)``; unknown or
    malformed entries are left out (they are read alone when asked for)."""
    try:
        entries = json.loads(text or "[]")
    except ValueError:
        return []
    out = []
    for entry in entries if isinstance(entries, list) else []:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], dict)):
            continue
        cls = _resolve(str(entry[0]))
        key = fact_key(cls, entry[1]) if cls else None
        if key:
            out.append((cls, entry[1], key))
    return out


def list_text(keys) -> str:
    """The JSON text of a list of fact keys, one fact a line, in a stable order."""
    return "[\n" + ",\n".join(sorted(set(keys))) + "\n]\n"


class _Changes(BaseStateCallback):
    """Which nodes an operation of this run has run a command on (pyinfra completes an operation
    before it starts the host's next one)."""

    def __init__(self):
        self.changed: set[str] = set()
        self.last: dict[str, str] = {}
        self.remember = False
        self.final: str | None = None

    def operation_host_start(self, state, host, op_hash):
        last = self.last.get(host.name)
        if last and state.get_op_data_for_host(host, last).operation_meta.executed:
            self.changed.add(host.name)
        self.last[host.name] = op_hash

    def operation_end(self, state, op_hash):
        if not self.remember:
            return
        if self.final is None:
            self.final = state.get_op_order()[-1]
        if op_hash == self.final:
            with ctx_state.use(state):
                for h in state.inventory.get_active_hosts():
                    _write_list(state, h)


def _changes() -> _Changes:
    def make():
        changes = _Changes()
        ctx_state.get().add_callback_handler(changes)
        return changes
    return per_run("nodes this run changed", make)


class _Node:
    """One node's facts of this run: read ahead, and the keys asked for."""

    def __init__(self, h):
        self.host = h
        # a node that cannot answer (no root yet: a wrong sudo password) is not failed here: its
        # facts are then read alone, where preflight names the problem
        self.remembered = "\n".join(h.get_fact(FileContents, path=FACTS_READ, _ignore_errors=True) or [])
        ahead = parse_list(self.remembered)
        values = h.get_fact(Batch, facts=[(cls, kwargs) for cls, kwargs, _ in ahead], _ignore_errors=True) \
            if ahead else []
        self.values = {key: value for (_, _, key), value in zip(ahead, values) if value is not UNREAD} \
            if len(values) == len(ahead) else {}
        self.asked: set[str] = set()


def _node(h) -> _Node:
    return per_run(("facts read ahead", h.name), lambda: _Node(h))


def node_fact(h, cls: type, **kwargs) -> Any:
    """The fact CLS (with KWARGS) of host H: read ahead when the last run read it, else alone.

    .. code:: python

        node_fact(host, Directory, path="/etc/qm-ha")
    """
    if not ctx_state.isset():
        return h.get_fact(cls, **kwargs)
    if isinstance(cls, type) and issubclass(cls, ShortFactBase):  # a view of another fact
        return cls().process_data(node_fact(h, cls.fact, **kwargs))
    # pyinfra's own arguments (``_ignore_errors``...) are for reading it alone, not part of the fact
    key = fact_key(cls, {k: v for k, v in kwargs.items() if not k.startswith("_")})
    if key is None:
        return h.get_fact(cls, **kwargs)
    node = _node(h)
    with _LOCK:
        node.asked.add(key)  # what runs read (also when read afresh): next run's list
    if ctx_state.get().current_stage == StateStage.Execute and h.name in _changes().changed:
        return h.get_fact(cls, **kwargs)
    if key in node.values:
        return node.values[key]
    value = h.get_fact(cls, **kwargs)
    if not any(k.startswith("_") for k in kwargs):  # read as the list reads it: it stands as they do
        with _LOCK:
            node.values.setdefault(key, value)
    return value


def node_facts(h, wanted: list[tuple[type, dict]]) -> list:
    """The facts WANTED (``(class, kwargs)`` pairs) of host H, each as ``node_fact`` gives it; those
    not at hand (not read ahead, or the node changed since) are read together in one command.

    .. code:: python

        info, sha256 = node_facts(host, [(File, {"path": p}), (Sha256File, {"path": p})])
    """
    if not ctx_state.isset():
        return [h.get_fact(cls, **kwargs) for cls, kwargs in wanted]
    node = _node(h)
    afresh = ctx_state.get().current_stage == StateStage.Execute and h.name in _changes().changed
    values: list = [UNREAD] * len(wanted)
    unread = []
    for i, (cls, kwargs) in enumerate(wanted):
        key = fact_key(cls, kwargs) if not issubclass(cls, ShortFactBase) else None
        if key is None:
            values[i] = node_fact(h, cls, **kwargs)
            continue
        with _LOCK:
            node.asked.add(key)
        if not afresh and key in node.values:
            values[i] = node.values[key]
        else:
            unread.append(i)
    if len(unread) > 1:
        read = h.get_fact(Batch, facts=[wanted[i] for i in unread]) or []
        if len(read) == len(unread):
            for i, value in zip(unread, read):
                values[i] = value
    for i in unread:
        if values[i] is UNREAD:  # alone, as pyinfra reads it (and reports its errors)
            values[i] = h.get_fact(wanted[i][0], **wanted[i][1])
        if not afresh:
            with _LOCK:
                node.values.setdefault(fact_key(*wanted[i]), values[i])
    return values


def _write_list(state, h) -> None:
    node = _node(h)
    text = list_text(node.asked)
    if text in (node.remembered, node.remembered + "\n"):
        return
    staged = f"{FACTS_READ}.new"
    elevated = as_inventory_says(state, h)
    if h.put_file(io.BytesIO(text.encode()), staged, **elevated):
        h.run_shell_command(StringCommand(f"chmod 600 {staged} && mv -f {staged} {FACTS_READ}"), **elevated)


def remember_at_end() -> None:
    """After the run's last operation has run, write on each node the list of facts this run read of
    it, where it differs from the list read at the start. Bookkeeping, not an operation: a run with
    nothing to change still reports nothing changed, and a preview (``--dry``) writes nothing.

    .. code:: python

        remember_at_end()   # last line of deploy.py
    """
    _changes().remember = True
