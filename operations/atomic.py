"""Files on the control machine written whole or not at all (temp file, fsync, rename)."""

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
