"""A download's body, moved off the event loop: one thread receives, a second writes, a third hashes.

The receiving thread reads the socket straight into a few page-aligned buffers (``recv_into``: no
allocation, no copy beyond the kernel's, at the kernel's full copy speed); the writing thread writes
each full buffer to the part file and hands it to the hashing thread, which feeds it to the sha256
and gives it back. ``recv_into``, ``os.write`` and ``hashlib`` release the GIL on large buffers, so
the three stages overlap on as many cores as there are, and the event loop only awaits the end
(``run_transfer``), so ComfyUI's loop never carries the bytes.

Loss on a kill is bounded: at most ``BUFFERS`` units are received and not yet written (the caller
sizes the unit so that this is half a chunk). A connection error never discards data: what the
current buffer holds is stored before the error is raised. Cancellation comes from the controlling
side: ``Control.stop`` shuts the socket down, which unblocks a read at once; the threads then store
what they hold, close the part, and end with ``Stopped``.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import mmap
import os
import queue
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..connection_words import why_failed
from ..page_buffers import page_buffer
from . import writeback

T = TypeVar("T")

BUFFERS = 4  # units in flight between the receiver, the writer and the hasher (backpressure beyond that)
MAX_UNIT = 1 << 20  # 1 MiB reads: large enough for few syscalls, small enough to stay in cache
POLL = 0.25  # seconds between looks at ``cancel_event`` while the loop waits


_Filled = tuple[mmap.mmap, int]  # a buffer and how many of its bytes hold data


class Stopped(Exception):
    """The controlling side stopped the transfer (cancel); what had arrived is on disk."""


class ReceiveFailed(Exception):
    """The connection failed (reset, timeout, TLS error); the cause is the network error."""


class StoreFailed(Exception):
    """Writing the part failed (disk full...); the cause is the ``OSError``."""


class Control:
    """The controlling side's handle on one transfer: stop it from any thread, know whether it holds the part."""

    def __init__(self, cancel_event: threading.Event | None = None) -> None:
        self.cancel_event = cancel_event or threading.Event()
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self.stopped = False
        self.holding = False  # the part file is open in the transfer's threads

    def on_socket(self, sock: socket.socket) -> None:
        """The connection now in use (each redirect hop): a stop shuts it down."""
        with self._lock:
            self._sock = sock
            if self.stopped:
                _shutdown(sock)

    def stop(self) -> None:
        """Stop at once: a blocked read returns, and no part file is opened after this."""
        with self._lock:
            self.stopped = True
            if self._sock is not None:
                _shutdown(self._sock)

    def check(self) -> None:
        if self.stopped or self.cancel_event.is_set():
            raise Stopped

    def open(self, opener: Callable[[], T]) -> T:
        """Open the part (``opener``) unless stopped; the controlling side then waits for ``release``."""
        with self._lock:
            if self.stopped or self.cancel_event.is_set():
                raise Stopped
            sink = opener()
            self.holding = True
            return sink

    def release(self) -> None:
        with self._lock:
            self.holding = False


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        # the plain socket's shutdown, also under TLS: the reading thread still owns the SSL object
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class Sink:
    """The part file and its running sha256: ``write`` on the writing thread, ``digest`` on the hashing one.

    Each buffer is written first and hashed after, so the digest never covers bytes that are not on
    disk; ``hash_valid`` turns false when a write failed half-way (the digest and the file then disagree).
    """

    def __init__(self, part: Path, offset: int, hasher: Any | None) -> None:
        self.part = part
        self.hasher = hasher
        self.written = offset
        self.hash_valid = True
        # never through a symlink (a planted .part must not grow a file elsewhere); a new part gets the umask's mode
        self.fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o666)
        os.ftruncate(self.fd, offset)  # drop a torn tail beyond what we hashed
        os.lseek(self.fd, offset, os.SEEK_SET)
        self.flushed = offset  # handed to the disk's writeback up to here

    def write(self, view: memoryview) -> None:
        done = 0
        try:
            while done < len(view):
                n = os.write(self.fd, view[done:])
                done += n
                self.written += n
        except OSError:
            self.hash_valid = False  # some bytes are on disk but not in the digest: rehash on resume
            raise
        if self.written - self.flushed >= writeback.EVERY:
            writeback.start_writeback(self.fd, self.flushed, self.written - self.flushed)
            self.flushed = self.written

    def digest(self, view: memoryview) -> None:
        if self.hasher is not None:
            self.hasher.update(view)

    def close(self, sync: bool) -> None:
        if sync:
            os.fsync(self.fd)
        os.close(self.fd)


class BodyReader:
    """``readinto`` of an ``http.client`` response body that never loses received bytes on an error.

    A plain body (``Content-Length`` or read-to-close) is read from the socket itself, after the few
    bytes ``http.client`` buffered with the headers; a chunked body goes through ``http.client``
    (rare for model files; an error there may lose what the current buffer held, at most one unit).
    """

    def __init__(self, resp: http.client.HTTPResponse) -> None:
        self.resp = resp
        self.chunked = bool(resp.chunked)
        self.left: int | None = resp.length  # None: until the server closes
        self.pending: memoryview | None = None  # what http.client had buffered with the headers

    def readinto(self, view: memoryview) -> int:
        if self.chunked:
            return self.resp.readinto(view)
        if self.left is not None:
            if self.left <= 0:
                return 0
            view = view[: self.left]
        fp = self.resp.fp
        if fp is None:
            return 0
        if self.pending is None:
            # read1 returns the buffered bytes without touching the socket (or makes one read if none):
            # afterwards the buffer is empty and the socket is read directly, so an error loses nothing
            self.pending = memoryview(fp.read1(1 << 16 if self.left is None else min(1 << 16, self.left)))
        if self.pending:
            n = min(len(view), len(self.pending))
            view[:n] = self.pending[:n]
            self.pending = self.pending[n:]
        else:
            n = fp.raw.readinto(view) or 0
        if self.left is not None:
            self.left -= n
        return n


def store_body(reader: BodyReader, sink: Sink, *, unit: int, control: Control,
               on_stored: Callable[[int], None]) -> None:
    """Receive the body into buffers of ``unit`` bytes here; write and hash them on two more threads.

    At most ``BUFFERS`` buffers are received and not yet written; as many again may wait, written, for
    the hasher. Returns at the end of the body, digest included; raises ``Stopped``, ``ReceiveFailed`` or
    ``StoreFailed`` only after every byte received has been stored (or storing failed).
    ``on_stored(written)`` runs on the writing thread after each buffer.
    """
    free: queue.SimpleQueue[mmap.mmap] = queue.SimpleQueue()
    to_write: queue.SimpleQueue[_Filled | None] = queue.SimpleQueue()
    to_hash: queue.SimpleQueue[_Filled | None] = queue.SimpleQueue()
    for _ in range(2 * BUFFERS):  # written buffers wait for the hasher without holding up the receiver
        free.put(page_buffer(unit))
    unwritten = threading.Semaphore(BUFFERS)  # the loss bound on a kill: received, not yet written
    failure: list[BaseException] = []
    hashing = sink.hasher is not None

    def write() -> None:
        while (item := to_write.get()) is not None:
            buf, n = item
            written = False
            if not failure:
                try:
                    sink.write(memoryview(buf)[:n])
                    written = True  # on disk: it goes to the digest even if the progress callback fails
                    on_stored(sink.written)
                except BaseException as exc:  # handed to the receiving thread
                    failure.append(exc)
            unwritten.release()
            if written and hashing:
                to_hash.put(item)
            else:
                free.put(buf)
        to_hash.put(None)

    def digest() -> None:
        while (item := to_hash.get()) is not None:
            buf, n = item
            sink.digest(memoryview(buf)[:n])
            free.put(buf)

    stages = [threading.Thread(target=write, name="mend-download-write", daemon=True)]
    if hashing:
        stages.append(threading.Thread(target=digest, name="mend-download-hash", daemon=True))
    for stage in stages:
        stage.start()
    received: BaseException | None = None
    try:
        while not failure:
            control.check()
            unwritten.acquire()
            buf = free.get()
            filled = 0
            try:
                view = memoryview(buf)
                while filled < unit:
                    n = reader.readinto(view[filled:])
                    if not n:
                        break
                    filled += n
            except (OSError, http.client.HTTPException, ValueError) as exc:
                received = exc
            # whatever arrived is good data, in order: store it before anything is raised
            if filled:
                to_write.put((buf, filled))
            else:
                unwritten.release()
                free.put(buf)
            if received is not None or filled < unit:
                break
    finally:
        to_write.put(None)
        for stage in stages:
            stage.join()
    if failure:
        raise StoreFailed(str(failure[0])) from failure[0]
    if (control.stopped or control.cancel_event.is_set()) and reader.left != 0:
        raise Stopped  # (a body that arrived whole is kept as done, whatever came after)
    if received is not None:
        raise ReceiveFailed(why_failed(received)) from received


async def run_transfer(fn: Callable[[], T], control: Control) -> T:
    """Run ``fn`` (the whole blocking fetch) in its own thread; the loop only waits and watches for a cancel.

    On cancellation (``CancelledError`` here, or ``control.cancel_event`` set by the manager) the transfer
    is stopped; when it holds the part file this waits until it has stored what it received and closed
    the file, so a cleanup never races the writer. A thread still connecting is left to time out alone.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    future.add_done_callback(lambda f: f.cancelled() or f.exception())  # an abandoned result is not an error

    def deliver(setter: Callable[[Any], None], value: Any) -> None:
        if not future.done():
            setter(value)

    def target() -> None:
        try:
            result = fn()
        except BaseException as exc:  # delivered to the awaiting coroutine
            outcome: tuple[Callable[[Any], None], Any] = (future.set_exception, exc)
        else:
            outcome = (future.set_result, result)
        with contextlib.suppress(RuntimeError):  # the loop is gone (the process is ending): nobody waits
            loop.call_soon_threadsafe(deliver, *outcome)

    threading.Thread(target=target, name="mend-download", daemon=True).start()
    try:
        while True:
            done, _ = await asyncio.wait({future}, timeout=POLL)
            if done:
                return future.result()
            if control.cancel_event.is_set():
                control.stop()
    except asyncio.CancelledError:
        control.stop()
        if control.holding:
            await asyncio.wait({future})
        raise
