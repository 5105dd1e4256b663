"""Console progress for the CLI: one tqdm bar per background task, fed by ``mend.task`` events.

``TaskBars`` has the signature of a host event callback and of a ``TaskManager`` listener, so either
works::

    bars = TaskBars()
    mend.tasks.subscribe(bars)            # or StandaloneHost(..., on_event=bars)
    task = await mend.tasks.submit("download", params)
    await watch(mend.tasks, [task.id])    # returns when every task has a final state

Downloads count bytes (KB/MB/GB, the bar's own rate and ETA); other kinds count their own units and
show the current step. A bar closes with a one-line verdict when its task reaches a final state.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable, Mapping
from typing import IO, Any

from tqdm import tqdm

from ..core.tasks.manager import EVENT, Task, TaskManager
from ..core.tasks.task_model import FINISHED

_VERDICT = {"completed": "done", "failed": "FAILED", "cancelled": "cancelled"}


class TaskBars:
    """Draw and update a bar per task id; close it on the task's final event."""

    def __init__(self, file: IO[str] | None = None, *, only: Iterable[str] | None = None,
                 disable: bool = False) -> None:
        self.file = file or sys.stderr
        self.only = set(only) if only is not None else None
        self.disable = disable
        self._bars: dict[str, tqdm] = {}

    def __call__(self, event: str, data: Mapping[str, Any], client_id: str | None = None) -> None:
        if event != EVENT or (self.only is not None and data.get("id") not in self.only):
            return
        bar = self._bars.get(data["id"])
        if bar is None:  # (a tqdm without a total refuses bool())
            bar = self._open(data)
        progress = data.get("progress") or {}
        total = progress.get("total")
        if total and bar.total != total:
            bar.total = total
        done = progress.get("done") or 0
        if done >= bar.n:
            bar.update(done - bar.n)
        else:  # a new attempt restarted below the last figure
            bar.reset(total=total)
            bar.update(done)
        postfix = [data["state"]] + ([progress["step"]] if progress.get("step") else [])
        if data.get("attempt", 0) > 1:
            postfix.append(f"attempt {data['attempt']}")
        bar.set_postfix_str(" ".join(postfix), refresh=False)
        bar.refresh()
        if data["state"] in FINISHED:
            self._close(data)

    def _open(self, data: Mapping[str, Any]) -> tqdm:
        is_bytes = data.get("kind") == "download"
        target = str(data.get("target", ""))
        name = target if len(target) <= 40 else "…" + target[-39:]
        bar = tqdm(desc=f"{data.get('kind')} {name}", total=None, file=self.file, disable=self.disable,
                   unit="B" if is_bytes else "it", unit_scale=is_bytes, unit_divisor=1024 if is_bytes else 1000,
                   leave=True, dynamic_ncols=True)
        self._bars[data["id"]] = bar
        return bar

    def _close(self, data: Mapping[str, Any]) -> None:
        bar = self._bars.pop(data["id"])
        verdict = _VERDICT.get(data["state"], data["state"])
        error = data.get("error") or {}
        if error.get("message"):
            verdict += f": {error['message']}" + (f" (during {error['step']})" if error.get("step") else "")
        bar.set_postfix_str(verdict, refresh=False)
        bar.close()

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()


async def watch(manager: TaskManager, task_ids: Iterable[str], *, file: IO[str] | None = None) -> list[Task]:
    """Show bars for these tasks until each has reached a final state; return them."""
    ids = list(task_ids)
    bars = TaskBars(file, only=ids)
    unsubscribe = manager.subscribe(bars)
    try:
        for task_id in ids:  # a task may already be past its first events: draw it as it is now
            task = await manager.get(task_id)
            if not task.finished:
                bars(EVENT, task.to_json())
        return list(await asyncio.gather(*(manager.wait(i) for i in ids)))
    finally:
        unsubscribe()
        bars.close()
