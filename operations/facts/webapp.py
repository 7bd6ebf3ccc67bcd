"""Facts of the QueueMetrics webapp on the node.

Example:

.. code:: python

    from operations.facts.webapp import ContextParam
    host.get_fact(ContextParam, path=".../WEB-INF/web.xml", param="JDBC_URL")
"""

from __future__ import annotations

from pyinfra.api import FactBase, QuoteString, StringCommand

from .. import paths

# Reads or sets one context parameter of a web.xml on the node (python 2 or 3: EL7 has only 2).
PARAM_SCRIPT = r"""
import re, sys
path, name = sys.argv[1], sys.argv[2]
rx = re.compile(r'(<param-name>\s*' + re.escape(name) + r'\s*</param-name>\s*<param-value>)(.*?)(</param-value>)', re.S)
try:
    text = open(path).read()
except IOError:
    if len(sys.argv) == 3:
        sys.exit(0)
    sys.stderr.write('%s is missing: the webapp is not installed where Tomcat looks for it\n' % path)
    sys.exit(1)
m = rx.search(text)
if len(sys.argv) == 3:
    if m:
        sys.stdout.write(m.group(2).replace('&lt;', '<').replace('&gt;', '>').replace('&amp;', '&') + '\n')
    sys.exit(0)
if not m:
    sys.stderr.write('%s declares no context parameter %s\n' % (path, name))
    sys.exit(1)
value = sys.argv[3].replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
text = text[:m.start(2)] + value + text[m.end(2):]
open(path, 'w').write(text)
"""

PYTHON = "$(command -v python3 || command -v python)"


class ContextParam(FactBase):
    """The value of context parameter PARAM in the web.xml at PATH, or None (no file, no parameter)."""

    def command(self, path: str, param: str) -> StringCommand:
        return StringCommand(PYTHON, "-c", QuoteString(PARAM_SCRIPT), QuoteString(path), QuoteString(param))

    def process(self, output) -> str | None:
        value = "\n".join(output).strip()
        return value or None


class StagedWebappPending(FactBase):
    """War mode's rolling upgrade on this node: the staged WAR's identity, the running one's, and
    whether a staged WAR waits to be swapped in (a roll-out a killed run left half done).

    .. code:: python

        {"staged": "sha256:ab..", "running": "sha256:01..", "pending": True}
    """

    def command(self) -> str:
        return (f"printf 'staged=%s\\nrunning=%s\\n' \"$(cat {paths.WEBAPP_NEXT_ID} 2>/dev/null)\" "
                f"\"$(cat {paths.WAR_RUNNING} 2>/dev/null)\"")

    @staticmethod
    def default() -> dict:
        return {"staged": None, "running": None, "pending": False}

    def process(self, output) -> dict:
        values = dict(line.split("=", 1) for line in output if "=" in line)
        staged, running = values.get("staged") or None, values.get("running") or None
        return {"staged": staged, "running": running, "pending": bool(staged) and staged != running}
