"""
Files that hold a secret (a database or keystore password): written like ``files.put``, but never
readable by others on the way and never shown in clear by ``--diff``.

``files.put`` and ``files.template`` print the whole old and new text under ``--diff``; for
``WEB-INF/web.xml`` (the JDBC URL carries the database password) or Tomcat's ``server.xml`` (the
keystore password) that would put a secret on the operator's screen and in CI logs. Here the diff
is shown with every secret replaced by ``*MASKED*``, so a preview still says which line changes.

**Example:**

.. code:: python

    from operations.secret_files import secret_file

    secret_file(name="web.xml", path="/var/lib/tomcat10/webapps/queuemetrics/WEB-INF/web.xml",
                content=web_xml, secrets=[db_password], user="root", group="tomcat", mode="0640")
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from pathlib import PurePosixPath

from pyinfra import host, logger, state
from pyinfra.api import FileUploadCommand, StringCommand, operation
from pyinfra.api.output import format_text
from pyinfra.facts.files import Directory, File, FileContents, Sha256File
from pyinfra.operations.util.files import chmod, chown, ensure_mode_int, generate_color_diff

from . import paths
from .prefetch import node_facts

MASK = "*MASKED*"
#: root-only directory on the node where a secret file is staged before it is installed
STAGING_DIR = paths.SECRET_STAGING


def masked(lines: Iterable[str], secrets: Iterable[str]) -> list[str]:
    """LINES with every non-empty value of SECRETS replaced by ``*MASKED*`` (longest first, so a
    secret that contains another is masked whole)."""
    ordered = sorted({s for s in secrets if s}, key=len, reverse=True)
    out = []
    for line in lines:
        for secret in ordered:
            line = line.replace(secret, MASK)
        out.append(line)
    return out


def _show_diff(path: str, exists: bool, content: str, secrets: Iterable[str]) -> None:
    current = [line + "\n" for line in (host.get_fact(FileContents, path=path) or [])] if exists else []
    host.log(f"Will {'modify' if exists else 'create'} {format_text(path, bold=True)}", logger.info)
    for line in generate_color_diff(masked(current, secrets), masked(content.splitlines(True), secrets)):
        logger.info("  %s", line)
    logger.info("")


@operation()
def secret_file(path: str, content: str, secrets: Iterable[str] = (), mode: str = "0600",
                user: str = "root", group: str = "root"):
    """
    PATH holds CONTENT with the given owner and mode; written only when its SHA-256 differs.

    + path: the file on the node (its directory must exist)
    + content: the whole text of the file
    + secrets: values shown as ``*MASKED*`` in a ``--diff`` (the rest of the diff is shown)
    + mode, user, group: the file's mode and owner; corrected in place when only they differ

    The new content is staged in the root-only ``STAGING_DIR`` and installed with its mode and
    owner in one step, so it is never readable by others, not even for a moment.
    """
    secrets = list(secrets)
    remote, remote_sha256, staging = node_facts(host, [(File, {"path": path}), (Sha256File, {"path": path}),
                                                        (Directory, {"path": STAGING_DIR})])
    if remote and remote_sha256 == hashlib.sha256(content.encode()).hexdigest():
        if remote["mode"] != ensure_mode_int(mode):
            yield chmod(path, mode)
        if remote["user"] != user or remote["group"] != group:
            yield chown(path, user, group)
        return
    if state.config.DIFF:
        _show_diff(path, bool(remote), content, secrets)
    staged = f"{STAGING_DIR}/{PurePosixPath(path).name}.new"
    if not (staging and staging["mode"] == 700 and staging["user"] == staging["group"] == "root"):
        yield StringCommand("install", "-d", "-m", "0700", "-o", "root", "-g", "root", STAGING_DIR)
    yield FileUploadCommand(io.BytesIO(content.encode()), staged)
    yield StringCommand(f"install -m {mode} -o {user} -g {group} {staged} {path}; rc=$?; "
                        f"rm -f {staged}; exit $rc")
