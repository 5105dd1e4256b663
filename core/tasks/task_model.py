"""A background task as the manager, the journal and the API see it: its states, record and JSON.

States::

    queued ──► running ──► completed
      ▲  │        │  └───► failed      (permanent error, or retries used up)
      │  │        └──────► cancelled   (the user asked; also from queued / interrupted)
      │  └─(retry wait)◄─┘             a retryable failure waits as ``queued`` with ``retry_at``
      └── interrupted ◄── (restart)    a task that was running when the process died and may not
                                       resume by itself (installs); ``resume``/``retry`` requeue it

``fold`` rebuilds a task from its journal events; ``to_record`` is what compaction writes back.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED, INTERRUPTED = (
    "queued", "running", "completed", "failed", "cancelled", "interrupted",
)
STATES = (QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED, INTERRUPTED)
FINISHED = frozenset({COMPLETED, FAILED, CANCELLED})
#: states that hold their target: a second task on it is refused
LIVE = frozenset({QUEUED, RUNNING, INTERRUPTED})


class RateMeter:
    """Bytes (or units) per second over the last few seconds of progress samples."""

    def __init__(self, window: float = 5.0) -> None:
        self.window = window
        self._samples: deque[tuple[float, float]] = deque()

    def reset(self) -> None:
        self._samples.clear()

    def add(self, done: float, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > self.window:
            self._samples.popleft()

    def per_second(self) -> float | None:
        if len(self._samples) < 2:
            return None
        (t0, d0), (t1, d1) = self._samples[0], self._samples[-1]
        if t1 - t0 <= 0:
            return None
        return max(0.0, (d1 - d0) / (t1 - t0))


@dataclass
class Task:
    id: str
    kind: str
    params: dict
    target: str
    client_id: str | None = None
    state: str = QUEUED
    attempt: int = 0  # attempts started so far (1 while the first runs)
    budget_start: int = 1  # first attempt counted against the automatic retry budget
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    checkpoint: dict = field(default_factory=dict)
    done: float = 0.0
    total: float | None = None
    step: str | None = None
    message: str | None = None
    error: dict | None = None
    result: dict | None = None
    retry_at: float | None = None
    interrupted_reason: str | None = None
    resumable: bool = False  # filled from the runner: may resume by itself after a restart
    cancel_requested: bool = False
    pause_requested: bool = False  # Pause: stop, keep the partial work, wait for Resume (not a record field)
    seq: int = 0  # events sent for this task; lets a client order and de-duplicate them
    rate: RateMeter = field(default_factory=RateMeter, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def to_json(self) -> dict:
        """The public shape: routes answer it, ``mend.task`` events carry it."""
        bps = self.rate.per_second()
        eta = None
        if bps and self.total is not None and self.total > self.done:
            eta = round((self.total - self.done) / bps, 1)
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "target": self.target,
            "params": self.params,
            "client_id": self.client_id,
            "attempt": self.attempt,
            "resumable": self.resumable,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "finished_at": self.finished_at,
            "retry_at": self.retry_at,
            "progress": {
                "done": self.done,
                "total": self.total,
                "fraction": (min(1.0, self.done / self.total) if self.total else None),
                "bytes_per_second": round(bps, 1) if bps is not None else None,
                "eta_seconds": eta,
                "step": self.step,
                "message": self.message,
            },
            "error": self.error,
            "result": self.result,
            "interrupted_reason": self.interrupted_reason,
            "seq": self.seq,
        }

    def to_record(self) -> dict:
        """Everything that must survive a restart (compaction writes this as a ``snapshot``)."""
        return {
            "id": self.id, "kind": self.kind, "params": self.params, "target": self.target,
            "client_id": self.client_id, "state": self.state, "attempt": self.attempt,
            "budget_start": self.budget_start, "created_at": self.created_at, "updated_at": self.updated_at,
            "finished_at": self.finished_at, "checkpoint": self.checkpoint, "done": self.done, "total": self.total,
            "step": self.step, "error": self.error, "result": self.result, "retry_at": self.retry_at,
            "interrupted_reason": self.interrupted_reason,
        }


_RECORD_FIELDS = frozenset(Task(id="", kind="", params={}, target="").to_record())


def fold(events: list[dict]) -> Task | None:
    """Replay one task's journal events into a ``Task`` (``None`` if it has no beginning)."""
    task: Task | None = None
    for ev in events:
        kind, t = ev.get("ev"), ev.get("t", time.time())
        if kind == "snapshot" and isinstance(ev.get("task"), dict):
            record = {k: v for k, v in ev["task"].items() if k in _RECORD_FIELDS}
            try:
                task = Task(**record)
            except TypeError:
                continue
            continue
        if kind == "created":
            task = Task(id=ev["id"], kind=str(ev.get("kind")), params=dict(ev.get("params") or {}),
                        target=str(ev.get("target")), client_id=ev.get("client_id"), created_at=t, updated_at=t)
            continue
        if task is None:
            continue
        task.updated_at = t
        if kind == "attempt":
            task.state, task.retry_at, task.interrupted_reason = RUNNING, None, None
            task.attempt = int(ev.get("attempt", task.attempt + 1))
        elif kind == "checkpoint":
            task.checkpoint = dict(ev.get("state") or {})
            task.done = ev.get("done", task.done) or 0
            task.total = ev.get("total", task.total)
        elif kind == "failed":
            task.error = ev.get("error")
            task.retry_at = ev.get("retry_at")
            if task.retry_at is None:
                task.state, task.finished_at = FAILED, t
            else:
                task.state = QUEUED
        elif kind == "requeued":
            task.state, task.error, task.retry_at, task.interrupted_reason = QUEUED, None, None, None
            task.finished_at, task.budget_start = None, task.attempt + 1
            if ev.get("by") == "retry" and ev.get("fresh"):
                task.checkpoint = {}
        elif kind == "completed":
            task.state, task.result, task.finished_at = COMPLETED, ev.get("result"), t
        elif kind == "paused":
            task.state, task.interrupted_reason = INTERRUPTED, "paused"
        elif kind == "cancelled":
            task.state, task.finished_at, task.checkpoint = CANCELLED, t, {}
    return task
