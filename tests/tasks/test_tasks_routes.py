"""The task routes over a real aiohttp server: list, get, cancel, retry, resume, and their errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web

from mend import server_routes
from mend.core.tasks.task_api import PermanentTaskError

from ..task_support import Scripted

JSON = {"Content-Type": "application/json"}


async def _client(aiohttp_client, mend_for, comfy_dir: Path, small_catalog: Path, *runners):
    mend = mend_for(comfy_dir, small_catalog)
    for runner in runners:
        mend.tasks.register(runner)
    app = web.Application()
    server_routes.setup(app, mend)
    return mend, await aiohttp_client(app)


async def test_list_get_cancel_and_their_errors(aiohttp_client, mend_for, comfy_dir, small_catalog) -> None:
    mend, client = await _client(aiohttp_client, mend_for, comfy_dir, small_catalog, Scripted("install", [], hold=30))
    task = await mend.tasks.submit("install", {"target": "pack-a"}, client_id="tab-1")

    listed = await (await client.get("/mend/tasks")).json()
    assert [t["id"] for t in listed["tasks"]] == [task.id]
    assert listed["tasks"][0]["client_id"] == "tab-1"
    assert (await (await client.get("/mend/tasks?state=completed")).json())["tasks"] == []
    assert (await client.get("/mend/tasks?state=bogus")).status == 400

    one = await client.get(f"/mend/tasks/{task.id}")
    assert one.status == 200 and (await one.json())["state"] in ("queued", "running")

    missing = await client.get("/mend/tasks/nope")
    assert missing.status == 404 and (await missing.json())["error"]["code"] == "not_found"
    assert (await client.post("/mend/tasks/nope/cancel", json={})).status == 404

    form = await client.post(f"/mend/tasks/{task.id}/cancel", data="x=1",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status == 415  # no form-post CSRF

    cancelled = await client.post(f"/mend/tasks/{task.id}/cancel", headers=JSON)  # an empty JSON POST is fine
    assert cancelled.status == 200 and (await cancelled.json())["state"] == "cancelled"
    again = await client.post(f"/mend/tasks/{task.id}/cancel", json={})
    body = await again.json()
    assert again.status == 409 and body["error"]["code"] == "conflict" and body["error"]["task_id"] == task.id


async def test_retry_and_resume_routes(aiohttp_client, mend_for, comfy_dir, small_catalog) -> None:
    runner = Scripted("install", [PermanentTaskError("clone failed"), None], resumable=False)
    mend, client = await _client(aiohttp_client, mend_for, comfy_dir, small_catalog, runner)
    task = await mend.tasks.submit("install", {"target": "pack-b"})
    await mend.tasks.wait(task.id, timeout=10)
    failed = await (await client.get(f"/mend/tasks/{task.id}")).json()
    assert failed["state"] == "failed" and failed["error"]["message"] == "clone failed"

    resume = await client.post(f"/mend/tasks/{task.id}/resume", json={})
    assert resume.status == 409  # only interrupted tasks resume; failed ones are retried

    retried = await client.post(f"/mend/tasks/{task.id}/retry", json={})
    assert retried.status == 200 and (await retried.json())["state"] == "queued"
    await asyncio.wait_for(mend.tasks.wait(task.id), 10)
    done = await (await client.get(f"/mend/tasks/{task.id}")).json()
    assert (done["state"], done["attempt"]) == ("completed", 2)


async def test_pause_keeps_the_work_and_resume_continues_it(aiohttp_client, mend_for, comfy_dir, small_catalog,
                                                            tmp_path) -> None:
    """Pause stops a download-like task without its cleanup (the part stays); Cancel cleans up."""
    from ..task_support import SlowWriter

    mend, client = await _client(aiohttp_client, mend_for, comfy_dir, small_catalog, SlowWriter())
    out = tmp_path / "part.bin"
    task = await mend.tasks.submit("slow_write", {"path": str(out), "steps": 400, "delay": 0.01})
    for _ in range(200):
        if task.done > 0:
            break
        await asyncio.sleep(0.01)
    paused = await client.post(f"/mend/tasks/{task.id}/pause", json={})
    body = await paused.json()
    assert paused.status == 200 and (body["state"], body["interrupted_reason"]) == ("interrupted", "paused")
    kept = out.stat().st_size
    assert kept > 0 and task.checkpoint  # the part and its checkpoint are kept
    again = await client.post(f"/mend/tasks/{task.id}/pause", json={})
    assert again.status == 409  # nothing runs to pause

    resumed = await client.post(f"/mend/tasks/{task.id}/resume", json={})
    assert resumed.status == 200
    await asyncio.wait_for(mend.tasks.wait(task.id), 30)
    assert task.state == "completed" and task.result["resumed_from"] > 0

    second = await mend.tasks.submit("slow_write", {"path": str(tmp_path / "b.bin"), "steps": 400, "delay": 0.01})
    await asyncio.sleep(0.1)
    cancelled = await client.post(f"/mend/tasks/{second.id}/cancel", json={})
    assert (await cancelled.json())["state"] == "cancelled" and not (tmp_path / "b.bin").exists()
