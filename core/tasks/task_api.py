"""The contract between the task manager and the work it runs (downloads, installs, syncs).

A *kind* of work is a ``TaskRunner``: given the task's ``params`` and a ``TaskContext`` it does the
work, reporting progress and checkpoints through the context, and either returns a result dict or
raises. The manager (``core/tasks/manager.py``) owns everything else: ids, queueing under per-kind
concurrency limits, the journal, retries with backoff, cancellation (``asyncio.CancelledError``
inside ``run``), events.

    class EchoRunner:
        kind = "echo"
        resumable = True               # after a crash, resume without asking the user
        def target(self, params): return f"echo:{params['text']}"   # duplicates are refused (409)
        async def run(self, params, ctx):
            ctx.progress(0, 1)
            ctx.checkpoint({"said": params["text"]})
            ctx.progress(1, 1)
            return {"text": params["text"]}

    mend.tasks.register(EchoRunner())
    task = await mend.tasks.submit("echo", {"text": "hi"}, client_id=client_id)   # returns at once
    return json_response(task.to_json(), status=202)

Optional runner members (looked up with ``getattr``, so older runners keep working):

- ``limit_group: str`` — the concurrency pool the kind shares (default: the kind itself; the
  manager's limits are per group, e.g. ``"download"`` and ``"install"``).
- ``max_attempts: int`` — overrides the manager's automatic retry budget for this kind.
- ``async def cleanup(params, checkpoint_state)`` — called after a task is *cancelled* by the user
  (not when the server merely stops): remove a ``.part`` file, a half-cloned folder...
- ``def validate(params)`` — raise a ``MendError`` (400) for bad params before anything is queued
  (``target`` may do the same).

Failures: raise ``RetryableTaskError`` (timeouts, resets, 5xx, 429 with ``retry_after``) to let the
manager retry with backoff, or ``PermanentTaskError`` (4xx, hash mismatch, disk full, bad input)
to fail at once. Other exceptions are classified by ``classify_failure``: timeouts, connection
errors and aiohttp 5xx/429 are retryable; everything else (``ENOSPC``, 4xx, ``ValueError``...) is
permanent. ``ctx.step`` names the current step (``"clone"``, ``"pip"``...) so a failure report can
say where it broke.

Blocking work never runs on the event loop: ``await ctx.run_thread(fn, *args)`` runs it in the
manager's worker threads; on cancel it sets ``ctx.cancel_event`` (poll it in loops) and waits for
the thread to return before ``CancelledError`` reaches the runner, so cleanup never races a writer.
``ctx.progress`` and ``ctx.checkpoint`` may be called from any thread.
"""

from __future__ import annotations

import asyncio
import errno
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypeVar

from ..errors import MendError, UpstreamError

T = TypeVar("T")


class TaskError(MendError):
    status = 500
    code = "task_failed"
    retryable = False

    def __init__(self, message: str, *, retry_after: float | None = None, output_tail: str | None = None,
                 **details: object) -> None:
        super().__init__(message, **details)
        self.retry_after = retry_after
        self.output_tail = output_tail


class RetryableTaskError(TaskError):
    code = "task_retryable"
    retryable = True


class PermanentTaskError(TaskError):
    code = "task_permanent"
    retryable = False


class TaskContext(Protocol):
    task_id: str
    attempt: int  # 1 for the first attempt
    checkpoint_state: Mapping[str, Any]  # the last checkpoint journaled (empty on a fresh task)
    cancel_event: threading.Event  # set when the task is cancelled or the server stops: threads poll it

    def progress(self, done: float, total: float | None = None, *, message: str | None = None) -> None:
        """Report progress (bytes, steps...). Cheap, any thread: events are throttled by the manager."""

    def checkpoint(self, state: Mapping[str, Any]) -> None:
        """Journal resumable state (sparse: the manager writes at most a few per second; any thread)."""

    def step(self, name: str) -> None:
        """Name the step now running (shown in progress and in failure reports)."""

    async def run_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking work in a worker thread; on cancel, set ``cancel_event`` and wait for it to return."""


class TaskRunner(Protocol):
    kind: str
    resumable: bool

    def target(self, params: Mapping[str, Any]) -> str:
        """What the task acts on (a file path, a pack folder): two live tasks on one target are refused."""

    async def run(self, params: Mapping[str, Any], ctx: TaskContext) -> Mapping[str, Any]:
        """Do the work; return a JSON-able result."""


@dataclass(frozen=True)
class Failure:
    """How a failed attempt is reported and whether trying again may help."""

    code: str
    message: str
    retryable: bool
    retry_after: float | None = None
    output_tail: str | None = None

    def to_json(self) -> dict:
        body = {"code": self.code, "message": self.message, "retryable": self.retryable}
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        if self.output_tail:
            body["output_tail"] = self.output_tail
        return body


#: errnos that will not heal by themselves: trying again only wastes time
_PERMANENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT,
                     errno.EISDIR, errno.ENOTDIR, errno.ENAMETOOLONG, errno.EFBIG}


def classify_failure(exc: BaseException) -> Failure:
    """Name a failure and decide if it is worth retrying (see the module docstring for the rules)."""
    try:
        message = str(exc) or type(exc).__name__
    except Exception:  # a half-built exception (aiohttp's without request info) must not hide the failure
        message = type(exc).__name__
    if isinstance(exc, TaskError):
        return Failure(exc.code, exc.message, exc.retryable, exc.retry_after, exc.output_tail)
    if isinstance(exc, UpstreamError):
        return Failure(exc.code, exc.message, exc.retryable)
    if isinstance(exc, MendError):
        return Failure(exc.code, exc.message, False)
    status = getattr(exc, "status", None)
    if isinstance(status, int) and 400 <= status < 600:  # aiohttp.ClientResponseError and the like
        retry_after = _retry_after(getattr(exc, "headers", None))
        retryable = status >= 500 or status in (408, 429)
        return Failure(f"http_{status}", message, retryable, retry_after if retryable else None)
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return Failure("timeout", message, True)
    if isinstance(exc, ConnectionError):  # resets, refused, aborted, broken pipes
        return Failure("connection", message, True)
    if _is_aiohttp_transient(exc):
        return Failure("connection", message, True)
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            return Failure("disk_full", message, False)
        if exc.errno in _PERMANENT_ERRNOS:
            return Failure("os_error", message, False)
        return Failure("os_error", message, exc.errno in (errno.EAGAIN, errno.EINTR, errno.ETIMEDOUT))
    return Failure("error", f"{type(exc).__name__}: {message}", False)


def _retry_after(headers: Any) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not headers:
        return None
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _is_aiohttp_transient(exc: BaseException) -> bool:
    try:
        import aiohttp
    except ImportError:  # pragma: no cover - aiohttp is a dependency
        return False
    return isinstance(exc, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError | aiohttp.ServerTimeoutError)
