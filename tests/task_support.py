"""Runners and a websocket host for the task tests; run as a script it is the child process of the crash test.

    python tests/task_support.py STATE_DIR submit OUT_FILE STEPS   # submit a slow file writer, then run
    python tests/task_support.py STATE_DIR resume                  # replay the journal, run to the end

The child prints one JSON line per event (``{"event": ..., "task": ...}``) so the parent can kill it
half-way, and a final ``{"done": [tasks]}`` line when every task has finished.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from mend.core.tasks.manager import TaskManager, idle
from mend.core.tasks.task_api import TaskContext

CHUNK = 1024


def chunk(i: int) -> bytes:
    """Step i's bytes: distinct per step, so a resumed file that repeats or skips a step is caught."""
    return (f"{i:08d}" * (CHUNK // 8)).encode()


class SlowWriter:
    """Writes ``steps`` chunks to ``path`` in a thread, one per ``delay``, checkpointing the step count."""

    kind = "slow_write"
    resumable = True

    def target(self, params: Mapping[str, Any]) -> str:
        return str(params["path"])

    async def run(self, params: Mapping[str, Any], ctx: TaskContext) -> Mapping[str, Any]:
        start = int(ctx.checkpoint_state.get("steps", 0))
        return await ctx.run_thread(self._write, Path(params["path"]), start, int(params["steps"]),
                                    float(params.get("delay", 0.02)), ctx)

    def _write(self, path: Path, start: int, steps: int, delay: float, ctx: TaskContext) -> dict:
        with open(path, "r+b" if path.exists() else "wb") as f:
            f.truncate(start * CHUNK)  # bytes past the checkpoint are not trusted
            f.seek(start * CHUNK)
            for i in range(start, steps):
                if ctx.cancel_event.is_set():
                    return {"stopped_at": i}
                f.write(chunk(i))
                f.flush()
                os.fsync(f.fileno())
                ctx.checkpoint({"steps": i + 1})
                ctx.progress((i + 1) * CHUNK, steps * CHUNK)
                time.sleep(delay)
        return {"resumed_from": start, "steps": steps}

    async def cleanup(self, params: Mapping[str, Any], state: Mapping[str, Any]) -> None:
        Path(params["path"]).unlink(missing_ok=True)


class Scripted:
    """Each attempt pops the next outcome: an exception to raise, or ``None`` to succeed."""

    def __init__(self, kind: str, outcomes: list[BaseException | None], *, resumable: bool = True,
                 hold: float = 0.0) -> None:
        self.kind = kind
        self.resumable = resumable
        self.outcomes = list(outcomes)
        self.hold = hold
        self.started: list[float] = []
        self.cleaned: list[Mapping[str, Any]] = []

    def target(self, params: Mapping[str, Any]) -> str:
        return str(params["target"])

    async def run(self, params: Mapping[str, Any], ctx: TaskContext) -> Mapping[str, Any]:
        self.started.append(time.monotonic())
        ctx.step("work")
        if self.hold:
            await asyncio.sleep(self.hold)
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        return {"attempt": ctx.attempt}

    async def cleanup(self, params: Mapping[str, Any], state: Mapping[str, Any]) -> None:
        self.cleaned.append(dict(params))


class Stubborn:
    """Blocking work in a thread and a child process, both running until cancelled (a stuck install)."""

    kind = "stubborn"
    resumable = False

    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self.thread_stopped = threading.Event()
        self.started = asyncio.Event()
        self.cleaned = False

    def target(self, params: Mapping[str, Any]) -> str:
        return str(params["target"])

    async def run(self, params: Mapping[str, Any], ctx: TaskContext) -> Mapping[str, Any]:
        self.proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "import time; time.sleep(120)")
        try:
            self.started.set()
            await ctx.run_thread(self._spin, ctx)
        finally:
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()
        return {}

    def _spin(self, ctx: TaskContext) -> None:
        while not ctx.cancel_event.wait(0.01):
            pass
        self.thread_stopped.set()

    async def cleanup(self, params: Mapping[str, Any], state: Mapping[str, Any]) -> None:
        self.cleaned = True


class Chatty:
    """Reports progress far more often than the manager may send it (the throttle's test)."""

    kind = "chatty"
    resumable = True

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls = 0

    def target(self, params: Mapping[str, Any]) -> str:
        return str(params["target"])

    async def run(self, params: Mapping[str, Any], ctx: TaskContext) -> Mapping[str, Any]:
        total = int(params.get("steps", 400))
        for i in range(total):
            ctx.progress(i + 1, total)
            self.calls += 1
            if i % 10 == 9:
                await asyncio.sleep(0.01)
        if self.fail:
            from mend.core.tasks.task_api import PermanentTaskError

            raise PermanentTaskError("broken on purpose")
        return {"steps": total}


class WebSocketHub:
    """What ComfyUI does with ``send_sync``: queue from any thread, one sender task pushes JSON to sockets."""

    def __init__(self) -> None:
        self.sockets: set[web.WebSocketResponse] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.queue: asyncio.Queue | None = None

    def send_event(self, event: str, data: Mapping[str, Any], client_id: str | None = None) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, (event, dict(data), client_id))

    async def publish(self) -> None:
        while True:
            event, data, _sid = await self.queue.get()
            for ws in list(self.sockets):
                await ws.send_json({"type": event, "data": data})

    async def ws_handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.add(ws)
        try:
            async for _msg in ws:
                pass
        finally:
            self.sockets.discard(ws)
        return ws

    async def on_startup(self, app: web.Application) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue = asyncio.Queue()
        self.publisher = asyncio.create_task(self.publish())

    async def on_cleanup(self, app: web.Application) -> None:
        self.publisher.cancel()


# -- the crash test's child process ------------------------------------------------------------------
async def _child(state_dir: Path, mode: str, argv: list[str]) -> None:
    def show(event: str, data: Mapping[str, Any], _client: str | None) -> None:
        print(json.dumps({"event": event, "task": data}), flush=True)

    manager = TaskManager(state_dir, checkpoint_interval=0.05, progress_interval=0.05)
    manager.subscribe(show)
    manager.register(SlowWriter())
    await manager.start()
    if mode == "submit":
        out, steps = argv
        await manager.submit("slow_write", {"path": out, "steps": int(steps), "delay": 0.02})
    while not idle(await manager.list()):
        await asyncio.sleep(0.05)
    print(json.dumps({"done": [t.to_json() for t in await manager.list()]}), flush=True)
    await manager.close()


if __name__ == "__main__":
    asyncio.run(_child(Path(sys.argv[1]), sys.argv[2], sys.argv[3:]))
