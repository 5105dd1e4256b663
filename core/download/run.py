"""Running downloads for callers that decided what to fetch: the CLI's ``resolve``, tests and the bench.

``download_decided(mend, items)`` downloads a list of decided models. With a task manager on
``mend.tasks`` the downloads become ordinary tasks (journaled, resumable, visible in the panel);
without one (a plain CLI run) they run here with the same runner, a ``LocalContext`` that keeps
checkpoints in a small JSON file beside the ``.part`` (so a Ctrl+C or a kill resumes with
``If-Range``), and the same retry rules (``Retry-After`` honoured, backoff capped).

    results = await download_decided(mend, [{"url": ..., "folder": "loras", "relpath": "x.safetensors"}])
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from ..catalog.link_check import link_checker
from ..tasks.task_api import classify_failure
from .engine import DownloadRunner

T = TypeVar("T")
ProgressCallback = Callable[[str, float, "float | None"], None]


class LocalContext:
    """A ``TaskContext`` without a manager: checkpoints go to ``state_file`` (when given).

    Like the manager's context, ``progress`` and ``checkpoint`` may be called from any thread (the
    download's storing thread calls them); ``on_progress`` runs on that thread, so it must be cheap.
    """

    def __init__(self, task_id: str, state_file: Path | None = None,
                 on_progress: ProgressCallback | None = None) -> None:
        self.task_id = task_id
        self.attempt = 1
        self.state_file = state_file
        self.on_progress = on_progress
        self.cancel_event = threading.Event()
        self.steps: list[str] = []
        self.checkpoints = 0
        self.checkpoint_state: Mapping[str, Any] = {}
        self._lock = threading.Lock()  # one writer of the state file at a time
        if state_file is not None and state_file.is_file():
            try:
                self.checkpoint_state = json.loads(state_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.checkpoint_state = {}

    def progress(self, done: float, total: float | None = None, *, message: str | None = None) -> None:
        if self.on_progress is not None:
            self.on_progress(self.task_id, done, total)

    def checkpoint(self, state: Mapping[str, Any]) -> None:
        with self._lock:
            self.checkpoint_state = dict(state)
            self.checkpoints += 1
            if self.state_file is not None:
                tmp = self.state_file.with_name(self.state_file.name + ".tmp")
                tmp.write_text(json.dumps(self.checkpoint_state), encoding="utf-8")  # tiny, about once a second
                os.replace(tmp, self.state_file)

    def step(self, name: str) -> None:
        self.steps.append(name)

    async def run_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    def forget(self) -> None:
        if self.state_file is not None:
            self.state_file.unlink(missing_ok=True)


async def run_with_retries(runner: DownloadRunner, params: Mapping[str, Any], ctx: LocalContext, *,
                           attempts: int = 5, backoff: float = 1.0, max_backoff: float = 30.0) -> Mapping[str, Any]:
    """Run one download, retrying what ``classify_failure`` calls retryable, as the task manager would."""
    while True:
        try:
            result = await runner.run(params, ctx)
            ctx.forget()
            return result
        except Exception as exc:
            failure = classify_failure(exc)
            if not failure.retryable or ctx.attempt >= attempts:
                if not failure.retryable:
                    ctx.forget()
                raise
            delay = failure.retry_after if failure.retry_after is not None else backoff * 2 ** (ctx.attempt - 1)
            ctx.attempt += 1
            await asyncio.sleep(min(delay, max_backoff))


async def download_decided(
    mend: Any,
    items: Iterable[Mapping[str, Any]],
    *,
    on_progress: ProgressCallback | None = None,
    concurrency: int = 3,
    runner: DownloadRunner | None = None,
) -> list[dict[str, Any]]:
    """Download every decided model (params as for the ``download`` task); one result per item, in order.

    A result is ``{"ok": True, "result": {...}}`` or ``{"ok": False, "error": {"code", "message", "retryable"}}``;
    one failure never stops the others.
    """
    items = [dict(i) for i in items]
    tasks = getattr(mend, "tasks", None)
    if tasks is not None and runner is None:
        return await _through_manager(tasks, download_runner(mend), items)
    runner = runner or DownloadRunner(mend.host, hashes=getattr(mend, "hashes", None),
                                      policy=mend.extras.get("download_policy"), links=link_checker(mend),
                                      manifest=getattr(mend, "manifest", None))
    limit = asyncio.Semaphore(concurrency)

    async def one(i: int, params: dict[str, Any]) -> dict[str, Any]:
        async with limit:
            try:
                final = Path(runner.target(params))
                state_file = final.with_name(f".{final.name}.mend-download.json")
                ctx = LocalContext(f"local-{i}", state_file, on_progress)
                return {"ok": True, "result": dict(await run_with_retries(runner, params, ctx))}
            except Exception as exc:
                return {"ok": False, "error": classify_failure(exc).to_json()}

    return await asyncio.gather(*(one(i, p) for i, p in enumerate(items)))


def download_runner(mend: Any) -> DownloadRunner:
    """The ``Mend``'s one download runner, registered on its task manager the first time it is asked for."""
    runner = mend.extras.get("download_runner")
    if runner is None:
        runner = DownloadRunner(mend.host, hashes=mend.hashes, policy=mend.extras.get("download_policy"),
                                links=link_checker(mend), manifest=mend.manifest)
        mend.extras["download_runner"] = runner
        mend.tasks.register(runner)
    return runner


async def _through_manager(tasks: Any, runner: DownloadRunner, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    await tasks.start()
    results: list[dict[str, Any]] = []
    submitted = []
    for params in items:
        try:
            submitted.append(await tasks.submit("download", params))
        except Exception as exc:
            submitted.append(exc)
    for entry in submitted:
        if isinstance(entry, Exception):
            results.append({"ok": False, "error": classify_failure(entry).to_json()})
            continue
        task = await tasks.wait(entry.id)
        body = task.to_json()
        if body.get("state") == "completed":
            results.append({"ok": True, "result": body.get("result"), "task_id": task.id})
        else:
            results.append({"ok": False, "error": body.get("error") or {"code": body.get("state")},
                            "task_id": task.id})
    return results
