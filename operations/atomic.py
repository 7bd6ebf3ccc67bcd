"""Files on the control machine: written whole or not at all (temp file, fsync, rename), and named
by their content (what a marker on a node records of a file put there once)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Replace PATH with DATA (permissions MODE from the first byte): readers see the old or the new file.

    .. code:: python

        write_atomic(Path(".qmha/x/secrets.json"), b"{}\\n", 0o600)
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def identity(path: str | Path | None) -> str | None:
    """``<sha256>  <file name>`` of the file at PATH (None for no path): what a node's marker records.

    .. code:: python

        identity("backup/queuemetrics.sql.gz")   # "9f86d0...  queuemetrics.sql.gz"
    """
    if not path:
        return None
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return f"{digest.hexdigest()}  {Path(path).name}"
