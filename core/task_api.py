"""The contract between the task manager and the work it runs (downloads, installs, syncs).

A *kind* of work is a ``TaskRunner``: given the task's ``params`` and a ``TaskContext`` it does the
work, reporting progress and checkpoints through the context, and either returns a result dict or
raises. The manager owns everything else: ids, queueing under per-kind concurrency limits, the
journal, retries with backoff, cancellation (``asyncio.CancelledError`` inside ``run``), events.

    class EchoRunner:
        kind = "echo"
        resumable = True               # after a crash, resume without asking the user
        def target(self, params): return f"echo:{params['text']}"   # duplicates are refused (409)
        async def run(self, params, ctx):
            ctx.progress(0, 1)
            ctx.checkpoint({"said": params["text"]})
            ctx.progress(1, 1)
            return {"text": params["text"]}

Failures: raise ``RetryableTaskError`` (timeouts, resets, 5xx, 429 with ``retry_after``) to let the
manager retry with backoff, or ``PermanentTaskError`` (4xx, hash mismatch, disk full, bad input)
to fail at once. Any other exception is treated as permanent. ``ctx.step`` names the current step
(``"clone"``, ``"pip"``...) so a failure report can say where it broke.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from .errors import MendError


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

    def progress(self, done: float, total: float | None = None, *, message: str | None = None) -> None:
        """Report progress (bytes, steps...). Cheap: events are throttled by the manager."""

    def checkpoint(self, state: Mapping[str, Any]) -> None:
        """Journal resumable state (sparse: the manager writes at most a few per second)."""

    def step(self, name: str) -> None:
        """Name the step now running (shown in progress and in failure reports)."""


class TaskRunner(Protocol):
    kind: str
    resumable: bool

    def target(self, params: Mapping[str, Any]) -> str:
        """What the task acts on (a file path, a pack folder): two live tasks on one target are refused."""

    async def run(self, params: Mapping[str, Any], ctx: TaskContext) -> Mapping[str, Any]:
        """Do the work; return a JSON-able result."""
