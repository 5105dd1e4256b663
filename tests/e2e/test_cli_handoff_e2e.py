"""``mend resolve`` on the state of a running ComfyUI: its download is queued on that server, the CLI
shows its progress, and a websocket client (what the panel listens on) sees the same task."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import aiohttp

from ..hf_server import safetensors_bytes
from .ws_client import Client

MB = 1024 * 1024
NAME = "cli-handoff.safetensors"


def two_loaders(url: str) -> dict:
    meta = [{"name": NAME, "url": url, "directory": "loras"}]
    return {"version": 0.4, "links": [], "nodes": [
        {"id": n, "type": "LoraLoader", "mode": 0, "widgets_values": [NAME, 1.0, 1.0], "properties": {"models": meta}}
        for n in (1, 2)]}


async def test_resolve_hands_its_download_to_the_running_server(comfyui, hub, e2e_env, tmp_path):
    data = safetensors_bytes(6 * MB, seed=15)
    hub.hub.add_file("acme/cli", NAME, data)
    hub.hub.fault(NAME, "trickle", piece=256 * 1024, delay=0.03)  # ~0.7 s: several progress events
    wf = tmp_path / "two.json"
    wf.write_text(json.dumps(two_loaders(f"{hub.endpoint}/acme/cli/resolve/main/{NAME}")))
    async with aiohttp.ClientSession() as session:
        panel = Client(comfyui, session)
        await panel.connect()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mend.cli", "resolve", str(wf), "--comfyui", str(comfyui.base), "--yes",
            "--no-registry", env={**os.environ, **e2e_env}, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = (b.decode() for b in await asyncio.wait_for(proc.communicate(), 180))
        await panel.wait_for(lambda: any(_mine(m) and m["data"]["state"] == "completed" for m in panel.json), 30)

    assert proc.returncode == 0, out + err + comfyui.log()[-3000:]
    assert f"mode: server — handing installs and downloads to the Mend server at {comfyui.url}" in out
    assert "(nodes 1, 2)" in out
    final_bar = err.rsplit("\r", 1)[-1]
    assert f"loras/{NAME}: 100%" in final_bar and "6.00M/6.00M" in final_bar and "done" in final_bar, err
    events = [m["data"] for m in panel.json if _mine(m)]
    states = [e["state"] for e in events]
    assert "running" in states and states[-1] == "completed"
    assert any(0 < (e.get("progress") or {}).get("done", 0) < len(data) for e in events)  # live progress
    _, listed = comfyui.get("/mend/tasks?kind=download")
    task = next(t for t in listed["tasks"] if t["id"] == events[-1]["id"])
    assert task["state"] == "completed"
    assert (comfyui.models / "loras" / NAME).read_bytes() == data
    assert len([r for r in hub.hub.requests if r[0] == "GET" and r[1].endswith(f"/{NAME}")]) == 1
    assert not list((comfyui.base / "user" / "mend").glob("*.part"))


def _mine(message: dict) -> bool:
    data = message.get("data") or {}
    return message.get("type") == "mend.task" and str(data.get("target", "")).endswith(f"loras/{NAME}")
