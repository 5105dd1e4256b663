"""Writing files so that a crash at any instant leaves either the old or the new content.

One temp file beside the target (same file system), fsynced, then ``os.replace``; the directory
entry itself is made durable with ``fsync_dir``. The manifest, the decision log, workflow rewrites,
downloaded models and cached catalogs all go through here.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def fsync_dir(directory: Path) -> None:
    """Make a created, renamed or removed directory entry durable (no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_temp(path: Path, data: str | bytes) -> str:
    """Write ``data`` to a fsynced temp file beside ``path``; the caller ``os.replace``s it when it may."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def replace_atomic(path: Path, data: str | bytes) -> None:
    """Put ``data`` at ``path`` atomically and durably (the folder is created when missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = write_temp(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    fsync_dir(path.parent)
