"""The task journal: append-only JSON lines beside the manifest, replayed at start, compacted when large.

One file (``<state_dir>/tasks.jsonl``). The first line names the schema and its version; every other
line is one task event::

    {"schema": "mend.tasks", "version": 1, "created": 1718000000.0}
    {"ev": "created", "id": "…", "t": …, "kind": "download", "params": {…}, "target": "…", "client_id": "…"}
    {"ev": "attempt", "id": "…", "t": …, "attempt": 2}
    {"ev": "checkpoint", "id": "…", "t": …, "state": {…}, "done": 1048576, "total": 20000000000}
    {"ev": "failed", "id": "…", "t": …, "error": {"code", "message", "retryable"}, "retry_at": … | null}
    {"ev": "requeued", "id": "…", "t": …, "by": "retry" | "resume"}
    {"ev": "completed", "id": "…", "t": …, "result": {…}}
    {"ev": "cancelled", "id": "…", "t": …}
    {"ev": "snapshot", "id": "…", "t": …, "task": {…}}      # written by compaction: the whole record

Why lines and not a database: an append of one short line is one ``write(2)`` on an ``O_APPEND``
descriptor, which a SIGKILL cannot tear in the middle of an earlier line, and the kernel keeps it
even if the process dies the next instant. ``fsync`` (power loss) runs in a thread, coalesced.
Replay is forgiving: a corrupt or truncated line (the tail of a crash) is skipped with a warning and
the rest replayed. A journal written by a newer Mend is refused (``JournalTooNew``) and never
rewritten, so a downgrade cannot destroy a newer version's state.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MendError

log = logging.getLogger(__name__)

SCHEMA = "mend.tasks"
SCHEMA_VERSION = 1


class JournalTooNew(MendError):
    """The journal was written by a newer Mend: this one will not replay or overwrite it."""

    status = 409
    code = "journal_too_new"


@dataclass
class Replay:
    """What a journal held: events grouped per task id, in order, plus what was skipped."""

    events: dict[str, list[dict]] = field(default_factory=dict)
    skipped: int = 0
    lines: int = 0


def read_journal(path: Path) -> Replay:
    """Parse the journal (blocking: call it in a thread). Raises ``JournalTooNew``."""
    replay = Replay()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return replay
    for lineno, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        replay.lines += 1
        try:
            entry = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            entry = None
        if isinstance(entry, dict) and entry.get("schema") == SCHEMA:
            version = entry.get("version")
            if not isinstance(version, int) or version > SCHEMA_VERSION:
                raise JournalTooNew(
                    f"{path} was written by a newer Mend (journal schema {version!r}; this Mend reads up to "
                    f"{SCHEMA_VERSION}). Upgrade Mend, or move the file away to start a new journal; "
                    "it was left untouched."
                )
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not isinstance(entry.get("ev"), str):
            replay.skipped += 1
            log.warning("mend: %s line %d is corrupt or truncated; skipped", path, lineno)
            continue
        replay.events.setdefault(entry["id"], []).append(entry)
    return replay


def _dumps(entry: Mapping[str, Any]) -> bytes:
    return (json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str) + "\n").encode("utf-8")


class Journal:
    """Appends events to the journal file; rewrites it compactly on request.

    ``append`` is called on the event loop: it is one small ``write(2)`` (microseconds); ``fsync``
    and compaction's rewrite happen in a thread. While a compaction is being written, appends are
    held in memory and written to the new file right after it replaces the old one.
    """

    def __init__(self, path: Path, *, fsync_interval: float = 0.5) -> None:
        self.path = Path(path)
        self.fsync_interval = fsync_interval
        self._fd: int | None = None
        self._held: list[bytes] | None = None  # appends that arrive during a compaction
        self._bytes_since_compaction = 0
        self._sync_lock = threading.Lock()
        self._sync_pending = False
        self._last_sync = 0.0

    # -- lifecycle ----------------------------------------------------------------------------
    def open(self) -> None:
        """Open for appending (blocking: call in a thread). Writes the header to a new file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        size = os.fstat(fd).st_size
        if size == 0:
            os.write(fd, _dumps(header()))
            os.fsync(fd)
        else:
            with open(self.path, "rb") as f:  # a torn last line must not swallow the next event
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    os.write(fd, b"\n")
        self._fd = fd

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None

    @property
    def bytes_since_compaction(self) -> int:
        return self._bytes_since_compaction

    # -- writing ------------------------------------------------------------------------------
    def append(self, entry: Mapping[str, Any]) -> None:
        """Append one event (a dict with ``ev`` and ``id``); ``t`` is added when absent."""
        if "t" not in entry:
            entry = {**entry, "t": time.time()}
        data = _dumps(entry)
        self._bytes_since_compaction += len(data)
        if self._held is not None:
            self._held.append(data)
            return
        if self._fd is None:
            raise RuntimeError("the journal is not open")
        os.write(self._fd, data)

    def sync_soon(self, executor: Any = None) -> None:
        """fsync in a worker thread, at most once per ``fsync_interval`` (power-loss durability)."""
        with self._sync_lock:
            if self._sync_pending:
                return
            self._sync_pending = True
        delay = max(0.0, self._last_sync + self.fsync_interval - time.monotonic())
        loop = asyncio.get_running_loop()
        loop.call_later(delay, self._sync_in_thread, loop, executor)

    def _sync_in_thread(self, loop: asyncio.AbstractEventLoop, executor: Any) -> None:
        if self._fd is None:  # closed meanwhile: the close fsynced
            return
        try:
            loop.run_in_executor(executor, self._sync)
        except RuntimeError:  # the executor shut down (server stopping): close fsyncs
            with self._sync_lock:
                self._sync_pending = False

    def _sync(self) -> None:
        with self._sync_lock:
            self._sync_pending = False
        fd = self._fd
        if fd is not None:
            with contextlib.suppress(OSError):  # closed meanwhile (shutdown): the close fsynced
                os.fsync(fd)
        self._last_sync = time.monotonic()

    # -- compaction ---------------------------------------------------------------------------
    def begin_compaction(self) -> None:
        """From now on hold appends in memory (on the loop), until ``finish_compaction``."""
        self._held = []

    def write_compacted(self, entries: Iterable[Mapping[str, Any]]) -> Path:
        """Write the compacted journal to a temp file and fsync it (blocking: call in a thread)."""
        tmp = self.path.with_name(self.path.name + ".compact")
        with open(tmp, "wb") as f:
            f.write(_dumps(header()))
            for entry in entries:
                f.write(_dumps(entry))
            f.flush()
            os.fsync(f.fileno())
        return tmp

    def finish_compaction(self, tmp: Path | None) -> None:
        """Swap the compacted file in (``os.replace``) and write the held appends to it (on the loop)."""
        held, self._held = self._held or [], None
        if tmp is not None:
            os.replace(tmp, self.path)
            old, self._fd = self._fd, os.open(self.path, os.O_WRONLY | os.O_APPEND)
            if old is not None:
                os.close(old)
            self._bytes_since_compaction = sum(len(d) for d in held)
        if self._fd is None:
            return
        for data in held:
            os.write(self._fd, data)


def header() -> dict:
    return {"schema": SCHEMA, "version": SCHEMA_VERSION, "created": time.time()}
