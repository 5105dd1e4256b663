"""The background task manager: ids, per-kind concurrency, retries, cancel, journal, events.

A request that starts long work (install a pack, download 20 GB) calls ``submit`` and answers at
once with the task; the work runs as an asyncio task on the server's loop, its blocking parts in
worker threads or subprocesses (``ctx.run_thread``), never on the loop itself.

    manager = TaskManager(state_dir, host)
    manager.register(DownloadRunner(...))
    await manager.start()                      # replays the journal; resumes what may resume
    task = await manager.submit("download", {"url": ...}, client_id="abc")   # Conflict if the target is busy
    await manager.cancel(task.id)              # or .retry / .resume / .get / .list / .wait

Every state change and (throttled) progress goes to ``host.send_event("mend.task", task_json, None)``:
broadcast to every client, with the starting ``client_id`` inside, so a reloaded tab (which gets a
new client id) still sees its tasks. The final state is always sent and always the task's last
event. One process owns a journal at a time (an inter-process lock beside it).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import MappingProxyType
from typing import Any

from filelock import FileLock, Timeout

from .. import constants
from ..errors import Conflict, InvalidField, MendError, NotFound
from .journal import Journal, JournalTooNew, read_journal
from .task_api import Failure, TaskRunner, classify_failure
from .task_context import AttemptContext
from .task_model import CANCELLED, COMPLETED, FAILED, FINISHED, INTERRUPTED, LIVE, QUEUED, RUNNING, Task, fold

log = logging.getLogger(__name__)

EVENT = "mend.task"
Listener = Callable[[str, Mapping[str, Any], "str | None"], None]


class JournalBusy(MendError):
    """Another process (a ComfyUI server, a CLI run) holds this task journal."""

    status = 409
    code = "journal_busy"


class TaskManager:
    def __init__(
        self,
        state_dir: Path,
        host: Any = None,
        *,
        limits: Mapping[str, int] | None = None,
        max_attempts: int | None = None,
        backoff: tuple[float, float] | None = None,
        progress_interval: float = 0.25,
        checkpoint_interval: float = 1.0,
        retention: float | None = None,
        compact_bytes: int = 1 << 20,
        cancel_wait: float = 5.0,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.host = host
        self.limits = dict(constants.TASK_LIMITS if limits is None else limits)
        self.default_limit = self.limits.get("default", 2)
        self.max_attempts = constants.TASK_MAX_ATTEMPTS if max_attempts is None else max_attempts
        self.backoff = backoff or (constants.TASK_BACKOFF_BASE, constants.TASK_BACKOFF_MAX)
        self.progress_interval = progress_interval
        self.checkpoint_interval = checkpoint_interval
        self.retention = constants.TASK_RETENTION if retention is None else retention
        self.compact_bytes = compact_bytes
        self.cancel_wait = cancel_wait
        self.journal = Journal(self.state_dir / "tasks.jsonl")
        self._lock = FileLock(str(self.state_dir / "tasks.jsonl.lock"), thread_local=False)
        self._runners: dict[str, TaskRunner] = {}
        self._tasks: dict[str, Task] = {}
        self._targets: dict[str, str] = {}  # target -> id of the live task holding it
        self._drivers: dict[str, asyncio.Task] = {}
        self._entered: set[str] = set()  # drivers whose body runs (a cancel reaches their handlers)
        self._contexts: dict[str, AttemptContext] = {}
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._waiters: dict[str, list[asyncio.Future]] = {}
        self._listeners: list[Listener] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._start_lock = asyncio.Lock()
        self._started = False
        self._closing = False
        self._broken: MendError | None = None
        self._compacting = False

    # -- setup -----------------------------------------------------------------------------------
    def register(self, runner: TaskRunner) -> None:
        """Add a kind of work. Registering after ``start`` brings back that kind's replayed tasks."""
        self._runners[runner.kind] = runner
        if self._started:
            for task in list(self._tasks.values()):
                if task.kind == runner.kind and task.interrupted_reason == "no_runner":
                    self._revive(task)

    @property
    def runners(self) -> Mapping[str, TaskRunner]:
        """The registered runners by kind (read-only view)."""
        return MappingProxyType(self._runners)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Also send events to ``listener(event, data, client_id)`` (the CLI's progress bars); returns unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def start(self) -> None:
        """Take the journal, replay it and resume what may resume. Idempotent; called lazily by the API."""
        if self._broken is not None:
            raise self._broken
        async with self._start_lock:
            if self._started:
                return
            self._loop = asyncio.get_running_loop()
            self._executor = ThreadPoolExecutor(max_workers=max(4, sum(self.limits.values()) + 2),
                                                thread_name_prefix="mend-task")
            try:
                await self._loop.run_in_executor(self._executor, self._open)
            except MendError as exc:
                self._broken = exc
                log.error("mend: background tasks are disabled: %s", exc.message)
                raise
            self._started = True
            for task in sorted(self._tasks.values(), key=lambda t: t.created_at):
                self._revive(task)

    def _open(self) -> None:
        """Lock, replay and open the journal (blocking: runs in a thread)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise JournalBusy(
                f"another Mend process is running tasks from {self.journal.path}; use its panel or HTTP API"
            ) from None
        try:
            replay = read_journal(self.journal.path)
        except JournalTooNew:
            self._lock.release()
            raise
        if replay.skipped:
            log.warning("mend: skipped %d unreadable line(s) of %s", replay.skipped, self.journal.path)
        cutoff = time.time() - self.retention
        dropped = 0
        for events in replay.events.values():
            task = fold(events)
            if task is None or (task.finished and (task.finished_at or 0) < cutoff):
                dropped += 1
                continue
            self._tasks[task.id] = task
        self.journal.open()
        # rewrite only when it pays: unreadable lines, forgotten tasks, or a journal grown large
        if replay.skipped or dropped or self.journal.path.stat().st_size > self.compact_bytes // 2:
            self.journal.begin_compaction()
            self.journal.finish_compaction(self.journal.write_compacted(self._snapshots()))

    def _revive(self, task: Task) -> None:
        """Decide what a replayed task does now: resume by itself, wait for the user, or nothing."""
        if task.finished or task.id in self._drivers:
            return
        self._claim(task)
        if task.state == INTERRUPTED and task.interrupted_reason == "paused":
            return  # paused by the user: it waits for Resume, across restarts too
        runner = self._runners.get(task.kind)
        if runner is None:
            task.state, task.interrupted_reason = INTERRUPTED, "no_runner"
            return
        task.resumable = bool(runner.resumable)
        started_before = task.attempt > 0
        if started_before and not runner.resumable:
            # an install cut off half-way: only the user may decide to run it again
            task.state, task.interrupted_reason, task.retry_at = INTERRUPTED, "restart", None
            return
        task.state, task.interrupted_reason = QUEUED, None
        self._emit(task)
        self._launch(task)

    async def close(self) -> None:
        """Stop running work as a crash would (the journal keeps it resumable), release the journal."""
        if not self._started:
            return
        self._closing = True
        drivers = list(self._drivers.values())
        for driver in drivers:
            driver.cancel()
        if drivers:
            await asyncio.wait(drivers, timeout=self.cancel_wait)
        self.journal.close()
        self._lock.release()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._started = False

    # -- public API ------------------------------------------------------------------------------
    async def submit(self, kind: str, params: Mapping[str, Any], *, client_id: str | None = None) -> Task:
        """Queue work and return its task at once; ``Conflict`` (409, with ``task_id``) if the target is busy."""
        await self.start()
        runner = self._runners.get(kind)
        if runner is None:
            raise InvalidField(f"unknown task kind {kind!r}; known: {sorted(self._runners)}", field="kind")
        validate = getattr(runner, "validate", None)
        if validate is not None:
            validate(params)
        target = str(runner.target(params))
        self._check_target(target, None)
        task = Task(id=uuid.uuid4().hex, kind=kind, params=dict(params), target=target, client_id=client_id,
                    resumable=bool(runner.resumable))
        self._tasks[task.id] = task
        self._claim(task)
        self._journal({"ev": "created", "id": task.id, "t": task.created_at, "kind": kind, "params": task.params,
                       "target": target, "client_id": client_id})
        self._emit(task)
        self._launch(task)
        return task

    async def get(self, task_id: str) -> Task:
        await self.start()
        task = self._tasks.get(task_id)
        if task is None:
            raise NotFound(f"no task {task_id!r}", field="id")
        return task

    async def list(self, *, state: str | None = None, kind: str | None = None) -> list[Task]:
        await self.start()
        return [t for t in sorted(self._tasks.values(), key=lambda t: t.created_at)
                if (state is None or t.state == state) and (kind is None or t.kind == kind)]

    async def cancel(self, task_id: str) -> Task:
        """Stop the work (queued, running or interrupted) and clean up; 409 if it already finished."""
        task = await self.get(task_id)
        if task.finished:
            raise Conflict(f"task {task_id} already {task.state}", task_id=task.id, state=task.state)
        task.cancel_requested = True
        driver = self._drivers.get(task.id)
        if driver is not None and task.id in self._entered:
            driver.cancel()
            await asyncio.wait([driver], timeout=self.cancel_wait)
        else:  # interrupted, or a driver that has not run yet (cancelling it skips its body entirely)
            if driver is not None:
                driver.cancel()
                self._drivers.pop(task.id, None)
            await self._cleanup(task)
            self._finish(task, CANCELLED, {"ev": "cancelled", "id": task.id})
        return task

    async def pause(self, task_id: str) -> Task:
        """Stop a resumable task and keep what it did (a download's ``.part``); ``resume`` continues it."""
        task = await self.get(task_id)
        if task.state not in (QUEUED, RUNNING) or not task.resumable:
            raise Conflict(f"only a queued or running resumable task can be paused; this one is {task.state}",
                           task_id=task.id, state=task.state)
        task.pause_requested = True
        driver = self._drivers.get(task.id)
        if driver is not None and task.id in self._entered:
            driver.cancel()
            await asyncio.wait([driver], timeout=self.cancel_wait)
        else:
            if driver is not None:
                driver.cancel()
                self._drivers.pop(task.id, None)
            self._paused(task)
        return task

    def _paused(self, task: Task) -> None:
        task.pause_requested = False
        task.state, task.interrupted_reason, task.retry_at = INTERRUPTED, "paused", None
        task.updated_at = time.time()
        self._journal({"ev": "paused", "id": task.id})
        self.journal.sync_soon(self._executor)
        self._emit(task)

    async def retry(self, task_id: str) -> Task:
        """Run a failed, cancelled or interrupted task again (a new attempt; the retry budget restarts)."""
        return await self._requeue(task_id, "retry", (FAILED, CANCELLED, INTERRUPTED))

    async def resume(self, task_id: str) -> Task:
        """Continue an interrupted task from its last checkpoint."""
        return await self._requeue(task_id, "resume", (INTERRUPTED,))

    async def wait(self, task_id: str, timeout: float | None = None) -> Task:
        """Wait until the task reaches a final state (the CLI waits on its downloads this way)."""
        task = await self.get(task_id)
        if not task.finished:
            future = self._loop.create_future()
            self._waiters.setdefault(task_id, []).append(future)
            await asyncio.wait_for(asyncio.shield(future), timeout)
        return task

    # -- running ---------------------------------------------------------------------------------
    def _launch(self, task: Task) -> None:
        self._drivers[task.id] = self._loop.create_task(self._drive(task), name=f"mend-task-{task.id}")

    def _semaphore(self, runner: TaskRunner) -> asyncio.Semaphore:
        group = getattr(runner, "limit_group", None) or runner.kind
        if group not in self._semaphores:
            self._semaphores[group] = asyncio.Semaphore(max(1, self.limits.get(group, self.default_limit)))
        return self._semaphores[group]

    async def _drive(self, task: Task) -> None:
        """One task from queued to a final state: attempts under the kind's limit, retries with backoff."""
        runner = self._runners[task.kind]
        ctx: AttemptContext | None = None
        self._entered.add(task.id)
        try:
            while True:
                if task.retry_at is not None:
                    await asyncio.sleep(max(0.0, task.retry_at - time.time()))
                async with self._semaphore(runner):
                    ctx = self._begin_attempt(task)
                    try:
                        result = await runner.run(task.params, ctx)
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:
                        self._end_attempt(task, ctx)
                        if self._closing:
                            return  # the server stops: leave the journal saying "running"
                        failure = classify_failure(exc)
                        if not self._schedule_retry(task, runner, failure):
                            return
                        continue
                    self._end_attempt(task, ctx)
                    task.result = dict(result or {})
                    task.done = task.total if task.total is not None else task.done
                    self._finish(task, COMPLETED, {"ev": "completed", "id": task.id, "result": task.result})
                    return
        except asyncio.CancelledError:
            if ctx is not None:
                self._end_attempt(task, ctx)
            if self._closing and not task.cancel_requested:
                return  # the server stops: the journal still says "running", so a restart resumes it
            current = asyncio.current_task()
            if current is not None and hasattr(current, "uncancel"):  # 3.11+: we swallow this cancel
                current.uncancel()
            if task.pause_requested and not task.cancel_requested:
                self._paused(task)
                return
            await self._cleanup(task)
            self._finish(task, CANCELLED, {"ev": "cancelled", "id": task.id})
        except Exception:  # a bug in the manager or runner bookkeeping: never leave a task "running"
            log.exception("mend: task %s crashed", task.id)
            task.error = Failure("internal_error", "internal error; see the server log", False).to_json()
            self._finish(task, FAILED, {"ev": "failed", "id": task.id, "error": task.error, "retry_at": None})
        finally:
            self._entered.discard(task.id)
            if self._drivers.get(task.id) is asyncio.current_task():
                del self._drivers[task.id]

    def _begin_attempt(self, task: Task) -> AttemptContext:
        task.attempt += 1
        task.state, task.retry_at, task.error, task.step, task.message = RUNNING, None, None, None, None
        task.rate.reset()
        self._journal({"ev": "attempt", "id": task.id, "attempt": task.attempt})
        ctx = AttemptContext(task, loop=self._loop, executor=self._executor, on_progress=self._on_progress,
                             on_checkpoint=self._on_checkpoint, progress_interval=self.progress_interval,
                             checkpoint_interval=self.checkpoint_interval)
        self._contexts[task.id] = ctx
        self._emit(task)
        ctx.mark_event_sent()
        return ctx

    def _end_attempt(self, task: Task, ctx: AttemptContext) -> None:
        if self._contexts.pop(task.id, None) is None:
            return
        ctx.flush_checkpoint()
        ctx.close()

    def _schedule_retry(self, task: Task, runner: TaskRunner, failure: Failure) -> bool:
        """Journal a failed attempt; True if it will be retried by itself (after backoff)."""
        error = {**failure.to_json(), "step": task.step, "attempt": task.attempt}
        task.error = error
        limit = getattr(runner, "max_attempts", None) or self.max_attempts
        used = task.attempt - task.budget_start + 1
        if not failure.retryable or used >= limit:
            self._finish(task, FAILED, {"ev": "failed", "id": task.id, "error": error, "retry_at": None})
            return False
        base, cap = self.backoff
        delay = min(cap, base * 2 ** (used - 1)) * random.uniform(0.8, 1.2)
        if failure.retry_after is not None:
            delay = max(delay, min(failure.retry_after, cap * 10))
        task.retry_at = time.time() + delay
        task.state = QUEUED
        task.updated_at = time.time()
        self._journal({"ev": "failed", "id": task.id, "error": error, "retry_at": task.retry_at})
        self._emit(task)
        log.info("mend: task %s attempt %d failed (%s); retrying in %.1fs", task.id, task.attempt,
                 failure.message, delay)
        return True

    def _finish(self, task: Task, state: str, entry: dict) -> None:
        """The one way into a final state: journal, release the target, send the last event."""
        task.state, task.finished_at, task.updated_at, task.retry_at = state, time.time(), time.time(), None
        if state == CANCELLED:
            task.checkpoint = {}
        self._journal(entry)
        self.journal.sync_soon(self._executor)
        if self._targets.get(task.target) == task.id:
            del self._targets[task.target]
        self._emit(task)
        for future in self._waiters.pop(task.id, []):
            if not future.done():
                future.set_result(task)
        self._maybe_compact()

    async def _requeue(self, task_id: str, by: str, allowed: Iterable[str]) -> Task:
        task = await self.get(task_id)
        if task.state not in allowed:
            raise Conflict(f"cannot {by} a task that is {task.state}", task_id=task.id, state=task.state)
        if task.kind not in self._runners:
            raise Conflict(f"no runner for {task.kind!r} tasks is installed", task_id=task.id)
        self._check_target(task.target, task.id)
        fresh = by == "retry" and task.state == CANCELLED
        task.state, task.error, task.retry_at, task.finished_at = QUEUED, None, None, None
        task.interrupted_reason, task.cancel_requested, task.result = None, False, None
        task.budget_start = task.attempt + 1
        self._claim(task)
        self._journal({"ev": "requeued", "id": task.id, "by": by, "fresh": fresh})
        self._emit(task)
        self._launch(task)
        return task

    async def _cleanup(self, task: Task) -> None:
        cleanup = getattr(self._runners.get(task.kind), "cleanup", None)
        if cleanup is None:
            return
        try:
            await cleanup(task.params, dict(task.checkpoint))
        except Exception:
            log.exception("mend: cleaning up after task %s failed", task.id)

    # -- bookkeeping -----------------------------------------------------------------------------
    def _check_target(self, target: str, own_id: str | None) -> None:
        holder = self._targets.get(target)
        if holder is not None and holder != own_id and self._tasks[holder].state in LIVE:
            raise Conflict(f"{target} is already being worked on by task {holder}", task_id=holder,
                           state=self._tasks[holder].state)

    def _claim(self, task: Task) -> None:
        self._targets[task.target] = task.id

    def _on_progress(self, task: Task) -> None:
        if task.state == RUNNING:
            task.updated_at = time.time()
            self._emit(task)

    def _on_checkpoint(self, task: Task) -> None:
        self._journal({"ev": "checkpoint", "id": task.id, "state": task.checkpoint, "done": task.done,
                       "total": task.total})
        self._maybe_compact()

    def _emit(self, task: Task) -> None:
        task.seq += 1
        data = task.to_json()
        targets: list[Any] = list(self._listeners)
        if self.host is not None:
            targets.append(self.host.send_event)
        for send in targets:
            try:
                send(EVENT, data, None)
            except Exception:
                log.exception("mend: sending a task event failed")

    def _journal(self, entry: dict) -> None:
        try:
            self.journal.append(entry)
        except OSError:
            log.exception("mend: cannot write the task journal %s", self.journal.path)

    def _snapshots(self) -> list[dict]:
        return [{"ev": "snapshot", "id": t.id, "t": t.updated_at, "task": t.to_record()} for t in self._tasks.values()]

    def _maybe_compact(self) -> None:
        if self._compacting or self._closing or self.journal.bytes_since_compaction < self.compact_bytes:
            return
        self._compacting = True
        self._loop.create_task(self._compact())

    async def _compact(self) -> None:
        """Rewrite the journal as one snapshot per kept task; forget finished tasks past retention."""
        try:
            cutoff = time.time() - self.retention
            for task in [t for t in self._tasks.values() if t.finished and (t.finished_at or 0) < cutoff]:
                del self._tasks[task.id]
            self.journal.begin_compaction()
            tmp = None
            try:
                tmp = await self._loop.run_in_executor(self._executor, self.journal.write_compacted, self._snapshots())
            finally:
                self.journal.finish_compaction(tmp)
        except Exception:
            log.exception("mend: compacting %s failed", self.journal.path)
        finally:
            self._compacting = False


def idle(tasks: Iterable[Task]) -> bool:
    """True when none of the tasks is queued or running (interrupted ones wait for the user)."""
    return all(t.state in FINISHED or t.state == INTERRUPTED for t in tasks)


__all__ = ["CANCELLED", "COMPLETED", "EVENT", "FAILED", "INTERRUPTED", "QUEUED", "RUNNING", "JournalBusy",
           "Task", "TaskManager", "idle"]
