"""Thin wrapper around the Docker CLI: start the engine when it is down, run commands, inspect.

The lab talks to Docker through its command line (Debian's ``docker.io``), so that what it does
can be replayed by hand. Every wait here is bounded.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

DOCKERD_LOG = Path("/var/log/qmha-dockerd.log")


class LabError(RuntimeError):
    """A lab step failed; the message says what and how to fix it."""


def docker_binary() -> str:
    """Debian's client matches Debian's engine; prefer it over another client on PATH."""
    for candidate in ("/usr/bin/docker", shutil.which("docker")):
        if candidate and Path(candidate).exists():
            return candidate
    raise LabError("the docker client is not installed: run `apt-get install docker.io` (make lab does).")


def run(*args: str, check: bool = True, capture: bool = True, input: str | bytes | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``docker ARGS``; raise LabError with docker's own message when it fails."""
    cmd = [docker_binary(), *args]
    text = not isinstance(input, bytes)
    proc = subprocess.run(cmd, capture_output=capture, input=input, text=text, timeout=timeout)
    if check and proc.returncode != 0:
        err = proc.stderr if capture else ""
        raise LabError(f"`docker {' '.join(args[:3])} ...` failed: {str(err).strip()}")
    return proc


def ok(*args: str) -> bool:
    return run(*args, check=False).returncode == 0


def inspect(kind: str, name: str) -> dict | None:
    """``docker KIND inspect NAME`` as a dict, or None when it does not exist."""
    proc = run(kind, "inspect", name, check=False)
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout)[0]


def engine_running() -> bool:
    return subprocess.run([docker_binary(), "info"], capture_output=True, timeout=30).returncode == 0


def ensure_engine(wait_s: float = 60) -> None:
    """Start dockerd in the background when it is not answering, then wait for it (bounded)."""
    if engine_running():
        return
    dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
    if not Path(dockerd).exists():
        raise LabError("dockerd is not installed: run `apt-get install docker.io` (make lab does).")
    log = DOCKERD_LOG.open("ab")
    subprocess.Popen([dockerd], stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if engine_running():
            return
        time.sleep(0.5)
    raise LabError(f"dockerd did not answer within {wait_s:.0f} s; see {DOCKERD_LOG}.")
