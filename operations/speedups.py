"""pyinfra, made cheaper where it spends a run's time, with the same results.

pyinfra's SSH connection (paramiko) sends each command's small packets with Nagle's algorithm on:
every command waited for the node's delayed acknowledgement, about 40 ms of the 48 ms a command
took on the lab (7.5 ms without it; OpenSSH turns Nagle off for the same reason). ``no_delay`` turns
it off on each node's connection.

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
import socket
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


def no_delay(hosts) -> list[str]:
    """Nagle's algorithm off on the SSH connection of each of HOSTS that has one (pyinfra's SSH
    connector, connected); the names of those it was turned off for."""
    done = []
    for h in hosts:
        client = getattr(getattr(h, "connector", None), "client", None)
        transport = client.get_transport() if client is not None and hasattr(client, "get_transport") else None
        sock = getattr(transport, "sock", None)
        if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            done.append(h.name)
    return done


def install(hosts=()) -> None:
    """Use ``operation_order`` where pyinfra orders operations (a module attribute it looks up per
    call), and ``no_delay`` on the connections of HOSTS."""
    OPERATION_MODULE.get_operation_order_from_stack = operation_order
    no_delay(hosts)
