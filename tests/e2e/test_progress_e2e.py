"""A real ComfyUI runs *Ensure Model* against the loopback Hugging Face server, seen by two websocket clients.

The session's ComfyUI (``conftest.comfyui``) reaches the session's ``hub`` through ``HF_ENDPOINT``.

Policy under test (docs/for-extension-authors.md): a prompt's progress text, the binary frame and
its ``mend.progress_text`` twin, goes to the client that queued it, so two clients running the same
workflow (same node ids) never see each other's downloads, and Model Info's output is its own prompt's.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path

import aiohttp

from ..hf_server import safetensors_bytes
from .ws_client import Client

REPO = "acme/models"
MB = 1024 * 1024


def ensure_then_info(file: str) -> dict:
    """Ensure Model downloads ``file`` into loras; Model Info (the loader downstream) reads it by that name."""
    return {
        "1": {"class_type": "MendEnsureModel",
              "inputs": {"source": REPO, "repo_file": file, "folder": "loras", "file_name": ""}},
        "2": {"class_type": "MendModelInfo",
              "inputs": {"folder": "loras", "file_name": ["1", 1], "load_tensors": False}},
    }


async def test_two_clients_see_progress_scoped_to_their_prompts(comfyui, hub):
    files = {"a.safetensors": safetensors_bytes(16 * MB, seed=1), "b.safetensors": safetensors_bytes(16 * MB, seed=2)}
    for name, data in files.items():
        hub.hub.add_file(REPO, name, data)
        hub.hub.fault(name, "trickle", piece=256 * 1024, delay=0.02)  # ~1.5 s each: several progress steps
    async with aiohttp.ClientSession() as session:
        a, b = Client(comfyui, session), Client(comfyui, session)
        await a.connect()
        await b.connect()
        pa = await a.queue(ensure_then_info("a.safetensors"))
        pb = await b.queue(ensure_then_info("b.safetensors"))
        await a.wait_for(lambda: pa in a.finished)
        await b.wait_for(lambda: pb in b.finished)
        assert (a.finished[pa], b.finished[pb]) == ("execution_success", "execution_success"), comfyui.log()[-3000:]
        whose = {pa: "a.safetensors", pb: "b.safetensors"}
        for client, own in ((a, pa), (b, pb)):
            texts = client.mend_texts()
            assert texts, "no mend.progress_text arrived"
            for t in texts:  # only this client's prompt, though both graphs use node ids 1 and 2
                assert (t["prompt_id"], t["scope"]) == (own, "client"), t
                assert t["node_id"] in ("1", "2") and t["display_node_id"] == t["real_node_id"] == t["node_id"]
                assert whose[own] in t["text"] and whose[pa if own == pb else pb] not in t["text"], t
            assert any("%" in t["text"] and "MB/s" in t["text"] for t in texts)
            # the binary frames arrive unchanged, one per JSON twin, to this client only
            assert [(t["node_id"], t["text"]) for t in texts] == client.texts
            # Model Info's output (the executed message and the history) names this prompt's file only
            (output,) = client.executed(own, "2")
            assert f"file: {whose[own]}" in output["text"][0], output
            _status, history = comfyui.get(f"/history/{own}")
            summary = history[own]["outputs"]["2"]["text"][0]
            assert f"file: {whose[own]}" in summary and hashlib.sha256(files[whose[own]]).hexdigest() in summary
        assert not a.executed(pb, "2") and not b.executed(pa, "2")
        for client, prompt in ((a, pa), (b, pb)):  # ComfyUI's progress bar goes to the queuing client
            values = client.progress(prompt, "1")
            assert len(values) >= 2 and values[-1][0] == values[-1][1] == len(files[whose[prompt]]), values
            assert [v for v, _ in values] == sorted(v for v, _ in values)
        assert not a.progress(pb, "1") and not b.progress(pa, "1")

    for name, data in files.items():
        final = comfyui.models / "loras" / name
        assert hashlib.sha256(final.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()


async def test_interrupt_stops_the_download_and_the_next_run_resumes(comfyui, hub):
    data = safetensors_bytes(24 * MB, seed=5)
    hub.hub.add_file(REPO, "c.safetensors", data)
    hub.hub.fault("c.safetensors", "trickle", piece=64 * 1024, delay=0.02)  # ~3 MB/s: plenty of time to interrupt
    final: Path = comfyui.models / "loras" / "c.safetensors"
    part = final.with_name("c.safetensors.part")
    async with aiohttp.ClientSession() as session:
        client = Client(comfyui, session)
        await client.connect()
        first = await client.queue(ensure_then_info("c.safetensors"))
        await client.wait_for(lambda: any(t["prompt_id"] == first and "MB/s" in t["text"]
                                          for t in client.mend_texts()))
        sent_before = hub.hub.sent["c.safetensors"]
        async with session.post(f"{comfyui.url}/interrupt", json={}) as r:
            assert r.status == 200
        await client.wait_for(lambda: first in client.finished)
        assert client.finished[first] == "execution_interrupted"
        assert not final.exists() and part.is_file()
        kept = part.stat().st_size
        assert 0 < kept < len(data) and part.read_bytes() == data[:kept]
        stopped_at = hub.hub.sent["c.safetensors"]
        assert sent_before <= stopped_at < len(data)
        await asyncio.sleep(1.0)
        assert hub.hub.sent["c.safetensors"] == stopped_at  # the connection was closed, not left trickling

        second = await client.queue(ensure_then_info("c.safetensors"))
        await client.wait_for(lambda: second in client.finished)
        assert client.finished[second] == "execution_success", comfyui.log()[-3000:]
    assert final.read_bytes() == data and not part.exists()
    ranges = [rng for _m, path, rng, _auth in hub.hub.requests if path.startswith("/cdn/")][-1:]
    assert ranges == [f"bytes={kept}-"]  # resumed from the .part, nothing on disk fetched again


async def test_ensure_model_waits_for_the_panels_download_of_the_same_file(comfyui, hub):
    """A panel task and the node on ComfyUI's prompt thread want one file: one transfer, one .part, both done."""
    data = safetensors_bytes(12 * MB, seed=7)
    hub.hub.add_file(REPO, "d.safetensors", data)
    hub.hub.fault("d.safetensors", "trickle", piece=128 * 1024, delay=0.02)  # ~6 MB/s: about 2 s
    final: Path = comfyui.models / "loras" / "d.safetensors"
    part = final.with_name("d.safetensors.part")
    status, task = comfyui.post("/api/mend/models/download", {
        "url": f"https://huggingface.co/{REPO}/resolve/main/d.safetensors", "folder": "loras"})
    assert status == 202, task
    deadline = time.monotonic() + 30
    while not part.exists():
        assert time.monotonic() < deadline, comfyui.log()[-3000:]
        await asyncio.sleep(0.01)
    async with aiohttp.ClientSession() as session:
        client = Client(comfyui, session)
        await client.connect()
        prompt = await client.queue(ensure_then_info("d.safetensors"))
        await client.wait_for(lambda: prompt in client.finished)
        assert client.finished[prompt] == "execution_success", comfyui.log()[-3000:]
    assert hub.hub.sent["d.safetensors"] == len(data)  # one transfer: the node waited, then found the file
    assert hashlib.sha256(final.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    assert not part.exists() and not final.with_name(".d.safetensors.mend-lock").exists()
    _status, done = comfyui.get(f"/api/mend/tasks/{task['id']}")
    assert done["state"] == "completed", done
    texts = [t["text"] for t in client.mend_texts() if t["prompt_id"] == prompt and "d.safetensors:" in t["text"]]
    # the node found the file missing, asked for it, waited on the panel's download, then found it in place
    assert texts[:2] == ["d.safetensors: starting download",
                         "d.safetensors: waiting for another download of this file"], texts
    assert texts[-1] == "✓ d.safetensors: present" and "d.safetensors: 0.0 MB" not in texts, texts
