"""Hold an inter-process file lock from a coroutine: wait without blocking the loop, give up on a cancel.

Two downloads of one file (a panel task and an *Ensure Model* node in one server, the CLI beside it,
or two machines on one shared cache) must not write one ``.part``: the second waits for the first,
then finds the file in place or resumes the part. The locks are OS locks (``flock`` on POSIX,
``msvcrt.locking`` on Windows), so a killed holder releases at once.

The lock file is removed on release, so none is left in a model folder. That is safe because the
holder unlinks before it unlocks, and a taker checks, once locked, that the file it locked is
still the one at the path (else it locked a removed file and tries again).

Each try is non-blocking and made on the loop's thread (an ``open`` and an ``flock``: microseconds),
never in a worker thread: a worker still blocked in a lock call when the coroutine is cancelled
would take the lock afterwards and hold it for nobody.

    async with hold_file_lock(folder / ".x.safetensors.mend-lock", ctx.cancel_event, on_wait=...):
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

log = logging.getLogger("mend.locks")

if os.name == "nt":
    import msvcrt

    def _lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


# what a lock call raises when another holder has the lock (POSIX flock, Windows msvcrt.locking)
_HELD = {errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES, getattr(errno, "EDEADLOCK", errno.EDEADLK)}


class LocksUnsupported(OSError):
    """The file system takes no locks (some FUSE and network mounts): callers go on without one."""


def try_lock(path: Path) -> int | None:
    """The locked file's descriptor, or None when someone else holds the lock. Never blocks.

    Raises ``LocksUnsupported`` where the file system has no locks (rather than waiting forever).
    """
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _lock(fd)
        except OSError as exc:
            os.close(fd)
            if exc.errno in _HELD:
                return None
            with contextlib.suppress(OSError):
                path.unlink()
            raise LocksUnsupported(f"{path.parent} takes no file locks: {exc.strerror}") from exc
        try:
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        if current is not None and os.path.samestat(os.fstat(fd), current):
            return fd
        _unlock(fd)  # the last holder removed the file between our open and our lock: take the new one
        os.close(fd)


def unlock(path: Path, fd: int) -> None:
    """Release and remove the lock file (removed first, so a waiter on the old file sees it is stale)."""
    if os.name != "nt":
        with contextlib.suppress(OSError):
            path.unlink()
    _unlock(fd)
    os.close(fd)
    if os.name == "nt":
        with contextlib.suppress(OSError):  # another waiter has it open: it stays, and is reused
            path.unlink()


UNSUPPORTED = -1  # what ``_try_or_unsupported`` returns on a file system without locks
_warned: set[str] = set()


def _try_or_unsupported(path: Path) -> int | None:
    """``try_lock``, or ``UNSUPPORTED`` (said once in the log per folder) where there are no locks."""
    try:
        return try_lock(path)
    except LocksUnsupported as exc:
        if str(exc) not in _warned:
            _warned.add(str(exc))
            log.warning("%s; downloads there are not protected against a second writer", exc)
        return UNSUPPORTED


@contextlib.asynccontextmanager
async def hold_file_lock(path: Path, cancel: threading.Event | None = None, *, poll: float = 0.25,
                         on_wait: Callable[[], None] | None = None) -> AsyncIterator[None]:
    """Hold ``path``'s lock for the block; ``on_wait`` runs once if another holder makes us wait.

    A ``cancel`` event set while waiting raises ``CancelledError``.
    """
    waited = False
    fd = _try_or_unsupported(path)
    if fd == UNSUPPORTED:
        yield  # as before locks existed: nothing stops a second writer on such a mount
        return
    while fd is None:
        if cancel is not None and cancel.is_set():
            raise asyncio.CancelledError
        if not waited and on_wait is not None:
            on_wait()
        waited = True
        await asyncio.sleep(poll)
        fd = try_lock(path)
    try:
        yield
    finally:
        unlock(path, fd)


@contextlib.contextmanager
def file_lock_if_free(path: Path) -> Iterator[bool]:
    """Hold ``path``'s lock for the block if nobody holds it (True), else hold nothing (False).

    For work that must not touch what a live holder is using: removing a cancelled download's
    ``.part`` while another download of the same file writes it, say.
    """
    fd = _try_or_unsupported(path)
    try:
        yield fd is not None
    finally:
        if fd is not None and fd != UNSUPPORTED:
            unlock(path, fd)
