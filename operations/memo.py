"""The one per-run memo: a value made once per deploy run and shared by both hosts.

pyinfra's State stands for the run; it is held weakly, so a new run (a test's, a second deploy in
one process) never finds an old run's values.

Example:

.. code:: python

    from operations.memo import per_run
    plan = per_run("replication plan", lambda: make_plan(...))
"""

from __future__ import annotations

import weakref
from typing import Any, Callable

from gevent.lock import RLock
from pyinfra.context import ctx_state

# pyinfra prepares the hosts concurrently (gevent): the first to ask makes the value while the
# other waits, then both read it. Re-entrant: a value may be made from others.
_LOCK = RLock()
_MEMO: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def per_run(key: Any, make: Callable[[], Any]) -> Any:
    """MAKE() once per deploy run under KEY (outside a run, every call makes it).

    .. code:: python

        plan = per_run("replication plan", lambda: make_plan(...))
    """
    if not ctx_state.isset():
        return make()
    with _LOCK:
        memo, locks = _MEMO.setdefault(ctx_state.get(), ({}, {}))
        if key in memo:
            return memo[key]
        lock = locks.setdefault(key, RLock())
    # one lock a key: a value made over SSH for one node does not hold up the other node
    with lock:
        if key not in memo:
            memo[key] = make()
        return memo[key]
