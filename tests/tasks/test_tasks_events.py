"""``mend.task`` events over a real websocket: in order, throttled, the final state always last."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from pathlib import Path

from aiohttp import web

from mend import server_routes

from ..task_support import Chatty, Stubborn, WebSocketHub

FINAL = {"completed", "failed", "cancelled"}
INTERVAL = 0.1


async def _setup(aiohttp_client, mend_for, comfy_dir: Path, small_catalog: Path):
    hub = WebSocketHub()
    sent_to: list[str | None] = []

    def send_event(event: str, data, client_id=None) -> None:
        sent_to.append(client_id)
        hub.send_event(event, data, client_id)

    mend = mend_for(comfy_dir, small_catalog, on_event=send_event)
    mend.tasks.progress_interval = INTERVAL
    app = web.Application()
    app.router.add_get("/ws", hub.ws_handler)
    app.on_startup.append(hub.on_startup)
    app.on_cleanup.append(hub.on_cleanup)
    server_routes.setup(app, mend)
    client = await aiohttp_client(app)
    return mend, client, sent_to


async def _collect(ws, ids: set[str], quiet: float = 0.5) -> dict[str, list[dict]]:
    """Every event per task until each has reached a final state and then ``quiet`` seconds pass."""
    events: dict[str, list[dict]] = defaultdict(list)
    while True:
        pending = {i for i in ids if not events[i] or events[i][-1]["state"] not in FINAL}
        try:
            msg = await asyncio.wait_for(ws.receive_json(), quiet if not pending else 20)
        except asyncio.TimeoutError:
            if pending:
                raise
            return events
        assert msg["type"] == "mend.task"
        events[msg["data"]["id"]].append(msg["data"])


async def test_events_arrive_in_order_throttled_with_the_final_state_last(
    aiohttp_client, mend_for, comfy_dir, small_catalog
) -> None:
    mend, client, sent_to = await _setup(aiohttp_client, mend_for, comfy_dir, small_catalog)
    ok, broken, stuck = Chatty(), Chatty(fail=True), Stubborn()
    ok.kind, broken.kind = "chatty_ok", "chatty_broken"
    for runner in (ok, broken, stuck):
        mend.tasks.register(runner)
    ws = await client.ws_connect("/ws")

    t_ok = await mend.tasks.submit("chatty_ok", {"target": "a", "steps": 600}, client_id="tab-1")
    t_broken = await mend.tasks.submit("chatty_broken", {"target": "b", "steps": 300}, client_id="tab-1")
    t_stuck = await mend.tasks.submit("stubborn", {"target": "c"}, client_id="tab-2")
    await asyncio.wait_for(stuck.started.wait(), 10)
    await asyncio.sleep(0.3)
    await mend.tasks.cancel(t_stuck.id)

    events = await _collect(ws, {t_ok.id, t_broken.id, t_stuck.id})
    await ws.close()

    assert set(sent_to) == {None}  # broadcast: a reloaded tab (new client id) still sees its tasks
    for task, final in ((t_ok, "completed"), (t_broken, "failed"), (t_stuck, "cancelled")):
        seen = events[task.id]
        assert [e["seq"] for e in seen] == list(range(1, len(seen) + 1)), "every event, in order"
        assert seen[0]["state"] == "queued" and seen[1]["state"] == "running"
        assert seen[-1]["state"] == final, "the final state is the last event"
        assert [e["state"] for e in seen].count(final) == 1
        assert all(e["client_id"] == task.client_id for e in seen)

    progress = [e for e in events[t_ok.id] if e["state"] == "running"][1:]
    assert 2 <= len(progress) < ok.calls / 20, (len(progress), ok.calls)  # throttled: 600 calls, a few events
    # never more often than the interval; the attempt's end flushes its last value at once (flush_now), so
    # the gap before that final progress event may be shorter
    gaps = [b["updated_at"] - a["updated_at"] for a, b in itertools.pairwise(progress[:-1])]
    assert not gaps or min(gaps) >= INTERVAL * 0.9, gaps
    done = [e["progress"]["done"] for e in progress]
    assert done == sorted(done)
    last = events[t_ok.id][-1]["progress"]
    assert (last["done"], last["total"], last["fraction"]) == (600, 600, 1.0)
    assert any(e["progress"]["bytes_per_second"] for e in progress)
    assert events[t_broken.id][-1]["error"]["message"] == "broken on purpose"


async def test_a_task_polled_over_http_matches_its_last_event(
    aiohttp_client, mend_for, comfy_dir, small_catalog
) -> None:
    mend, client, _ = await _setup(aiohttp_client, mend_for, comfy_dir, small_catalog)
    mend.tasks.register(Chatty())
    ws = await client.ws_connect("/ws")
    task = await mend.tasks.submit("chatty", {"target": "a", "steps": 200})
    events = await _collect(ws, {task.id}, quiet=0.2)
    polled = await (await client.get(f"/mend/tasks/{task.id}")).json()
    assert polled == events[task.id][-1]
