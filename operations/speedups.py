"""pyinfra, made cheaper where it spends a no-op run's time on the controller, with the same results.

pyinfra orders the operations of a deploy by the line numbers of the calls that made them, read
from ``inspect.stack()`` (``pyinfra.api.util.get_operation_order_from_stack``): ``inspect`` looks up
every frame's module and source lines for that, which took about a third of the controller's time
of a no-op run. ``operation_order`` reads the same line numbers from the frames themselves.

Example:

.. code:: python

    from operations import speedups
    speedups.install()      # first thing in deploy.py
"""

from __future__ import annotations

import importlib
import sys

import pyinfra
from pyinfra.api import util as pyinfra_util

#: the module (``pyinfra.api.operation`` is also the name of its decorator)
OPERATION_MODULE = importlib.import_module("pyinfra.api.operation")


def operation_order(state) -> list[int]:
    """What ``pyinfra.api.util.get_operation_order_from_stack`` returns for the current call stack:
    the deploy file's operation number, then the line number of every frame from the first frame in
    the deploy file inwards, pyinfra's own frames left out."""
    frames = []
    frame = sys._getframe(1)
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    frames.reverse()
    start = 0
    if state.current_deploy_filename:  # no frame in it: none (pyinfra's search ends on its own frame)
        start = next((i for i, f in enumerate(frames) if f.f_code.co_filename == state.current_deploy_filename),
                     len(frames))
    numbers = [state.current_op_file_number] if pyinfra.is_cli else []
    numbers += [f.f_lineno for f in frames[start:]
                if not f.f_code.co_filename.startswith(pyinfra_util.PYINFRA_INSTALL_DIR)]
    return numbers


def install() -> None:
    """Use ``operation_order`` where pyinfra orders operations (a module attribute it looks up per call)."""
    OPERATION_MODULE.get_operation_order_from_stack = operation_order
