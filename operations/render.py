"""The one template renderer: every configuration file's text comes from ``templates/`` through it.

Strict (a value the template names but is not given is an error), trailing newline kept, no HTML
escaping (the templates are configuration files; values that need XML or shell escaping are
escaped by the code that hands them on).

Example:

.. code:: python

    from operations.render import render
    render("mariadb/root-my.cnf.j2", password="...")
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .paths import TEMPLATES


@cache
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                       keep_trailing_newline=True, autoescape=False)


def render(template: str, **values) -> str:
    """The text of TEMPLATE (a path under ``templates/``) with VALUES."""
    return _environment().get_template(template).render(**values)


def config_file(template: str, dest: str, values: dict | None = None, **put_args):
    """The file DEST holds TEMPLATE rendered with VALUES (``managed.put`` does the rest: PUT_ARGS such
    as name, user, group, mode; nothing to do costs no command, ``--diff`` shows a change line by line).

    .. code:: python

        config_file("chrony/chrony.conf.j2", "/etc/chrony.conf", {"ntp_servers": [...], "drift_file": ...},
                    name="chrony time sources", create_remote_dir=False)
    """
    from io import StringIO

    from .managed import put

    return put(src=StringIO(render(template, **(values or {}))), dest=dest, **put_args)
