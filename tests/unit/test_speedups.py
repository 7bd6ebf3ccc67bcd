"""pyinfra made cheaper with the same results (``operations.speedups``)."""

from types import SimpleNamespace

from pyinfra.api import util as pyinfra_util

from operations import speedups


def nested(depth, state):
    if depth:
        return nested(depth - 1, state)
    return speedups.operation_order(state), pyinfra_util.get_operation_order_from_stack(state)


def test_operations_are_ordered_by_the_same_line_numbers_as_pyinfra_orders_them():
    for deploy_file in (__file__, None, "/no/such/deploy.py"):
        state = SimpleNamespace(current_deploy_filename=deploy_file, current_op_file_number=3)
        ours, pyinfras = nested(3, state)
        assert ours == pyinfras
        assert len(ours) >= (4 if deploy_file != "/no/such/deploy.py" else 0)


def test_installed_where_pyinfra_looks_it_up():
    import importlib
    module = importlib.import_module("pyinfra.api.operation")
    before = module.get_operation_order_from_stack
    try:
        speedups.install()
        assert module.get_operation_order_from_stack is speedups.operation_order
    finally:
        module.get_operation_order_from_stack = before


class _Connector:
    def __init__(self, sock):
        self.client = self

    def get_transport(self):
        return self


def test_nagle_is_turned_off_on_each_nodes_ssh_connection():
    import socket
    from types import SimpleNamespace
    listener = socket.create_server(("127.0.0.1", 0))
    sock = socket.create_connection(listener.getsockname())
    try:
        connector = _Connector(sock)
        connector.sock = sock
        hosts = [SimpleNamespace(name="node-a", connector=connector),
                 SimpleNamespace(name="fake", connector=SimpleNamespace())]
        assert speedups.no_delay(hosts) == ["node-a"]
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        sock.close()
        listener.close()
