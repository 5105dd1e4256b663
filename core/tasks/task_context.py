"""What a runner holds while one attempt of a task runs: progress, checkpoints, threads, cancel.

Runners call ``progress`` and ``checkpoint`` as often as they like and from any thread; the context
keeps only the latest value and hands it to the manager on the event loop at most once per
interval (trailing edge: the latest value always arrives, a burst never floods the websocket or
the journal). When the attempt ends the context is closed, and nothing it held is sent after the
task's final state.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .task_model import Task

T = TypeVar("T")


class Throttle:
    """Call ``flush`` on the loop at most once per ``interval``, always after the latest ``poke``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float, flush: Callable[[], None]) -> None:
        self._loop = loop
        self._interval = interval
        self._flush = flush
        self._lock = threading.Lock()
        self._scheduled = False  # a flush is on its way (guards against one wake-up per poke)
        self._handle: asyncio.Handle | None = None
        self._last = 0.0
        self.closed = False

    def poke(self) -> None:
        """Ask for a flush; any thread. Cheap when one is already scheduled."""
        with self._lock:
            if self._scheduled or self.closed:
                return
            self._scheduled = True
        if _on_loop(self._loop):
            self._schedule()
        else:
            self._loop.call_soon_threadsafe(self._schedule)

    def _schedule(self) -> None:
        if self.closed:
            return
        delay = self._last + self._interval - time.monotonic()
        if delay <= 0:
            self._run()
        else:
            self._handle = self._loop.call_later(delay, self._run)

    def _run(self) -> None:
        self._handle = None
        with self._lock:
            self._scheduled = False
        if self.closed:
            return
        self._last = time.monotonic()
        self._flush()

    def flush_now(self) -> None:
        """Flush a pending value at once (on the loop), e.g. before the attempt's end is journaled."""
        pending = self._scheduled
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        with self._lock:
            self._scheduled = False
        if pending and not self.closed:
            self._last = time.monotonic()
            self._flush()

    def mark(self) -> None:
        """Something was just sent outside the throttle: count it for the interval."""
        self._last = time.monotonic()

    def close(self) -> None:
        self.closed = True
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


class AttemptContext:
    """The ``TaskContext`` (``core/tasks/task_api.py``) of one attempt."""

    def __init__(
        self,
        task: Task,
        *,
        loop: asyncio.AbstractEventLoop,
        executor: Executor,
        on_progress: Callable[[Task], None],
        on_checkpoint: Callable[[Task], None],
        progress_interval: float,
        checkpoint_interval: float,
    ) -> None:
        self.task_id = task.id
        self.attempt = task.attempt
        self.checkpoint_state: Mapping[str, Any] = dict(task.checkpoint)
        self.cancel_event = threading.Event()
        self._task = task
        self._loop = loop
        self._executor = executor
        self._latest: tuple[float, float | None, str | None] | None = None
        self._latest_checkpoint: dict | None = None
        self._progress = Throttle(loop, progress_interval, lambda: self._send_progress(on_progress))
        self._checkpoints = Throttle(loop, checkpoint_interval, lambda: self._write_checkpoint(on_checkpoint))

    # -- TaskContext ----------------------------------------------------------------------------
    def progress(self, done: float, total: float | None = None, *, message: str | None = None) -> None:
        self._latest = (done, total, message)
        self._progress.poke()

    def checkpoint(self, state: Mapping[str, Any]) -> None:
        self._latest_checkpoint = dict(state)
        self._checkpoints.poke()

    def step(self, name: str) -> None:
        self._task.step = name
        self._progress.poke()

    async def run_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await run_in_thread(self._executor, self.cancel_event, fn, *args)

    # -- manager side ---------------------------------------------------------------------------
    def _apply_latest(self) -> None:
        """Copy the latest reported progress onto the task (on the loop)."""
        latest, self._latest = self._latest, None
        if latest is not None:
            done, total, message = latest
            self._task.done = done
            if total is not None:
                self._task.total = total
            if message is not None:
                self._task.message = message
            self._task.rate.add(done)

    def _send_progress(self, on_progress: Callable[[Task], None]) -> None:
        self._apply_latest()
        on_progress(self._task)

    def _write_checkpoint(self, on_checkpoint: Callable[[Task], None]) -> None:
        state, self._latest_checkpoint = self._latest_checkpoint, None
        if state is not None:
            self._apply_latest()
            self._task.checkpoint = state
            self.checkpoint_state = state
            on_checkpoint(self._task)

    def flush_checkpoint(self) -> None:
        """Journal the last checkpoint now (the attempt is ending: failure, shutdown)."""
        self._checkpoints.flush_now()

    def mark_event_sent(self) -> None:
        self._progress.mark()

    def close(self) -> None:
        """No progress or checkpoint from this attempt is sent any more (the final state is next)."""
        self._apply_latest()  # the final event carries the last reported figures
        self._progress.close()
        self._checkpoints.close()
        self.cancel_event.set()


async def run_in_thread(executor: Any, cancel_event: threading.Event, fn: Callable[..., T], *args: Any) -> T:
    """Run blocking ``fn`` in ``executor`` (None: the loop's default); a cancel sets ``cancel_event``
    and waits for the thread to end, since a thread cannot be interrupted and cleanup must not race it."""
    future = asyncio.get_running_loop().run_in_executor(executor, fn, *args)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        cancel_event.set()
        await asyncio.wait([future])
        raise
