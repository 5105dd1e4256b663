"""Handing the CLI's installs and downloads to the Mend server that owns the state, over its HTTP API.

On a server box ComfyUI (with Mend) usually runs while someone uses ``mend resolve`` on the same
state: that server owns the task journal, so the CLI queues its work there (``POST /mend/models/download``,
``POST /mend/nodes/install``), follows the tasks (``GET /mend/tasks/{id}``) with the same progress bars,
and the panel shows them as any other task. A target the server already works on (409 with its
``task_id``) is followed, not started twice::

    server = await ServerClient.connect("http://127.0.0.1:8188")
    outcome = await carry_out(mend, target.id, report, execute=server.executor(TaskBars()))

Requests carry no ``Origin`` and a loopback ``Host``: a state-changing route accepts them as it would
a local tool's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from ..core.act import Execute, Work
from ..core.errors import BadRequest
from ..core.tasks.manager import EVENT
from ..core.tasks.task_model import FINISHED

POLL_SECONDS = 0.25  # as often as the server throttles its own progress events
Listener = Callable[[str, Mapping[str, Any]], None]


class ServerUnreachable(BadRequest):
    code = "server_unreachable"


class ServerClient:
    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url.rstrip("/")
        self.session = session

    @classmethod
    async def connect(cls, url: str) -> ServerClient:
        """A client for ``url`` once it answers as a Mend server (``GET /mend/tasks``)."""
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        client = cls(url, session)
        try:
            await client.request("GET", "/mend/tasks")
        except BaseException:
            await session.close()
            raise
        return client

    async def close(self) -> None:
        await self.session.close()

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        try:
            async with self.session.request(method, self.url + path, json=body) as resp:
                data = await resp.json(content_type=None)
                if resp.status >= 400 and not (resp.status == 409 and _task_id(data)):
                    error = (data or {}).get("error") or {}
                    raise BadRequest(f"the Mend server at {self.url} refused {method} {path}: "
                                     f"{error.get('message') or resp.status}", field=error.get("field"))
                return resp.status, data
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise ServerUnreachable(f"no Mend server answers at {self.url} ({exc or type(exc).__name__})",
                                    field="--server") from exc

    async def submit(self, path: str, body: Mapping[str, Any]) -> dict:
        """Queue a task; a target already worked on is that task (409 names it)."""
        status, data = await self.request("POST", path, dict(body))
        if status == 409:
            return (await self.request("GET", f"/mend/tasks/{_task_id(data)}"))[1]
        return data

    async def follow(self, task_ids: list[str], listener: Listener) -> dict[str, dict]:
        """Poll until every task is final, feeding ``listener`` task events as the server sends them."""
        last: dict[str, dict] = {}
        while len([i for i in task_ids if last.get(i, {}).get("state") in FINISHED]) < len(task_ids):
            for task_id in task_ids:
                if last.get(task_id, {}).get("state") in FINISHED:
                    continue
                _, task = await self.request("GET", f"/mend/tasks/{task_id}")
                if task != last.get(task_id):
                    listener(EVENT, task)
                last[task_id] = task
            await asyncio.sleep(POLL_SECONDS)
        return last

    def executor(self, listener: Listener) -> Execute:
        """``carry_out``'s ``execute``: queue the work on the server, follow it, report like a local run."""

        async def execute(work: Work) -> tuple[list[dict], list[dict]]:
            installs = [await self._queue("/mend/nodes/install", body) for body in work.packs]
            downloads = [await self._queue("/mend/models/download", _download_body(p)) for p in work.downloads]
            ids = [t["id"] for t in installs + downloads if "id" in t]
            final = await self.follow(ids, listener) if ids else {}
            return ([_install_outcome(body, t, final) for body, t in zip(work.packs, installs, strict=True)],
                    [_download_outcome(t, final) for t in downloads])

        return execute

    async def _queue(self, path: str, body: Mapping[str, Any]) -> dict:
        try:
            return await self.submit(path, body)
        except ServerUnreachable:
            raise
        except BadRequest as exc:  # refused (policy, bad URL): that item fails, the others go on
            return {"error": {"code": exc.code, "message": exc.message}}


def _download_body(params: Mapping[str, Any]) -> dict:
    body = {"url": params["url"], "folder": params["folder"], "filename": params["relpath"]}
    for name in ("sha256", "on_existing"):  # the user's answer to "another file has that name" goes along
        if params.get(name):
            body[name] = params[name]
    return body


def _install_outcome(body: Mapping[str, Any], queued: dict, final: dict[str, dict]) -> dict:
    task = final.get(queued.get("id", ""), queued)
    outcome = {"request": dict(body), "state": task.get("state", "refused"), "task_id": task.get("id")}
    if outcome["state"] == "completed":
        outcome["result"] = task.get("result")
    else:
        outcome["error"] = task.get("error")
    return outcome


def _download_outcome(queued: dict, final: dict[str, dict]) -> dict:
    task = final.get(queued.get("id", ""), queued)
    if task.get("state") == "completed":
        return {"ok": True, "result": task.get("result"), "task_id": task["id"]}
    return {"ok": False, "error": task.get("error") or {"code": task.get("state")}, "task_id": task.get("id")}


def _task_id(data: Any) -> str | None:
    error = data.get("error") if isinstance(data, dict) else None
    return error.get("task_id") if isinstance(error, dict) else None
