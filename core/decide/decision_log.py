"""The decision log: manifest edits made durable in about a millisecond, before the TOML shows them.

Re-parsing and rewriting a large ``pyproject.toml`` with tomlkit takes hundreds of milliseconds, so
an edit of the manifest (a decision, a pack or model record) is first appended here as one JSON line
and fsynced; a background fold (``core/decide/manifest.py``) later applies the lines to the TOML and empties
the log. A record is a list of path operations, applied all together:

    {"id": "5f0c...", "ops": [{"op": "set", "path": ["packs", "comfyui-foo"], "value": {"source": "git"}}]}

Setting or deleting a value at a path is idempotent, so replaying a record that was already folded
(a crash after the TOML was replaced but before the log was emptied) changes nothing.
A line that was only partly written (the process died inside ``write``) was never acknowledged: it
is ignored on read and cut off before the next append. Callers hold the manifest's lock.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from ..atomic_files import fsync_dir

log = logging.getLogger(__name__)


class DecisionLog:
    """Append-only JSON lines beside the manifest; every append is fsynced before it returns."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def stamp(self) -> tuple[int, int, int] | None:
        """What changes whenever the log does (inode, size, mtime)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def append(self, record: dict[str, Any]) -> tuple[int, int]:
        """Append one record durably; return the log's size before and after it (``truncate`` undoes it)."""
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        created = not self.path.exists()
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            before = self._cut_torn_tail(fd)
            view = memoryview(line)
            try:
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            except OSError:  # a full disk: the record is not stored, and no torn half of it stays behind
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, before)
                    if created:
                        self.path.unlink()
                raise
        finally:
            os.close(fd)
        if created:
            fsync_dir(self.path.parent)
        return before, before + len(line)

    def read(self) -> list[dict[str, Any]]:
        """Every complete record, in order (a torn last line is skipped)."""
        return self.read_from(0)[0]

    def read_from(self, offset: int) -> tuple[list[dict[str, Any]], int]:
        """The complete records after byte ``offset``, and the offset just past the last of them."""
        try:
            with open(self.path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            return [], 0
        complete = data[: data.rfind(b"\n") + 1]  # what follows the last newline is torn (or being written)
        records = []
        for raw in complete.split(b"\n"):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except ValueError:
                log.warning("mend: %s has a line that is not JSON; ignored", self.path)
                continue
            if isinstance(record, dict) and isinstance(record.get("ops"), list):
                records.append(record)
        return records, offset + len(complete)

    def truncate(self, size: int) -> None:
        """Cut the log back to ``size`` bytes (undo appends made since), durably."""
        if not self.path.exists():
            return
        fd = os.open(self.path, os.O_RDWR)
        try:
            os.ftruncate(fd, size)
            os.fsync(fd)
        finally:
            os.close(fd)

    def clear(self) -> None:
        self.truncate(0)

    @staticmethod
    def _cut_torn_tail(fd: int) -> int:
        """If the file does not end with a newline, a writer died mid-line: drop that partial line."""
        end = os.lseek(fd, 0, os.SEEK_END)
        if end == 0 or os.pread(fd, 1, end - 1) == b"\n":
            return end
        data = os.pread(fd, end, 0)  # the log is small: it is folded into the TOML within a second
        keep = data.rfind(b"\n") + 1
        os.ftruncate(fd, keep)
        return keep
