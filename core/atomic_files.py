"""Writing files so that a crash at any instant leaves either the old or the new content.

One temp file beside the target (same file system), fsynced, then ``os.replace``; the directory
entry itself is made durable with ``fsync_dir``. The manifest, the decision log, workflow rewrites,
downloaded models and cached catalogs all go through here.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
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


def _read_umask() -> int:
    """The process's umask, read without changing it where Linux says it (``/proc/self/status``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore at once (at import, before threads use it)
    os.umask(mask)
    return mask


UMASK = _read_umask()


def keep_mode(fd: int, path: Path) -> None:
    """Give the temp file at ``fd`` the mode (and, where allowed, owner) of the file it replaces.

    A rewrite must not turn a shared 0644/0664 workflow or manifest into mkstemp's 0600; a new file
    gets what ``open`` would give it: 0666 less the umask.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        os.fchmod(fd, 0o666 & ~UMASK)
        return
    os.fchmod(fd, st.st_mode & 0o7777)
    if (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
        try:
            os.fchown(fd, st.st_uid, st.st_gid)
        except OSError:  # only root may give a file away; the group may still be kept
            with contextlib.suppress(OSError):
                os.fchown(fd, -1, st.st_gid)


def write_temp(path: Path, data: str | bytes) -> str:
    """Write ``data`` to a fsynced temp file beside ``path`` (with ``path``'s mode); the caller
    ``os.replace``s it when it may."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            keep_mode(f.fileno(), path)
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


#: ``write_temp``'s names: ``.<target name>.<8 random characters>.tmp``
_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


def remove_stale_temps(directory: Path, *, older_than: float = 60.0, recursive: bool = False) -> list[Path]:
    """Remove the temp files a killed writer left (``write_temp``'s names only, untouched for a while).

    A live writer's temp file is seconds old at most; ``older_than`` leaves those alone.
    """
    removed: list[Path] = []
    now = time.time()
    candidates = directory.rglob(".*.tmp") if recursive else directory.glob(".*.tmp")
    try:
        for path in candidates:
            try:
                if _TEMP_NAME.match(path.name) and path.is_file() and not path.is_symlink() \
                        and now - path.stat().st_mtime > older_than:
                    path.unlink()
                    removed.append(path)
            except OSError:
                continue
    except OSError:  # the folder is missing or unreadable: nothing to clean
        pass
    return removed


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
