"""Over HTTP, as the panel does it: a decision, then its download; when the download completes the manifest
says so (``resolved``, every key kept), once, for every workflow waiting for that file, also after a restart."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from aiohttp import web

from mend.core import constants
from mend.core.catalog.registry import RegistryClient
from mend.core.catalog.source_policy import DownloadPolicy
from mend.core.catalog.store import CatalogStore
from mend.core.decide.manifest import Manifest
from mend.core.host_standalone import StandaloneHost
from mend.core.services import Mend
from mend.server_routes import setup

from ..hf_server import Fault, safetensors_bytes, served_hub

DATA = safetensors_bytes(300_000, seed=11)
SHA = hashlib.sha256(DATA).hexdigest()


def graph(graph_id: str, *node_ids: int) -> dict:
    return {"id": graph_id, "version": 0.4, "links": [], "nodes": [
        {"id": n, "type": "LoraLoader", "widgets_values": ["ink.safetensors", 1.0, 1.0]} for n in node_ids]}


@pytest.fixture
async def hub(aiohttp_server, monkeypatch):
    hub = await served_hub(aiohttp_server, (("acme/loras", "ink.safetensors", DATA),))
    monkeypatch.setattr(constants, "TEST_ALLOW_HTTP_LOOPBACK", True)
    return hub


def make_mend(comfy_dir, small_catalog, tmp_path, hub) -> Mend:
    mend = Mend.create(StandaloneHost(comfy_dir), catalogs=CatalogStore(catalog_dir=small_catalog),
                       registry=RegistryClient(""), manifest_path=tmp_path / "state" / "pyproject.toml",
                       cache_dir=tmp_path / "cache")
    mend.extras["download_policy"] = DownloadPolicy(hf_endpoint=hub.url, allow_http_loopback=True)
    return mend


async def client_for(aiohttp_client, mend: Mend):
    app = web.Application()
    setup(app, mend)
    client = await aiohttp_client(app)
    await mend.start()
    return client


async def decide_url(client, graph_id: str, node_ids: tuple[int, ...], url: str, sha256: str | None = None) -> None:
    """What the panel's "Use URL" does: the decision (every reference of the file), on disk before any byte."""
    resp = await client.post("/mend/decisions", json={"graph": graph(graph_id, *node_ids), "model": f"{node_ids[0]}/"
                                                      "lora_name", "action": "url", "url": url, "folder": "loras"})
    assert resp.status == 200, await resp.text()


def decisions(mend: Mend, graph_id: str) -> dict:
    return Manifest(mend.manifest_path, autofold=False).resolutions(graph_id)["models"]


async def settled(mend: Mend) -> None:
    await mend.extras["model_recorder"].drain()


async def test_a_panel_download_resolves_every_waiting_decision_keeping_its_keys(aiohttp_client, comfy_dir,
                                                                                  small_catalog, tmp_path, hub):
    mend = make_mend(comfy_dir, small_catalog, tmp_path, hub)
    client = await client_for(aiohttp_client, mend)
    url = f"{hub.url}/acme/loras/resolve/main/ink.safetensors"
    await decide_url(client, "aaaaaaaa-0000-4000-8000-000000000001", (1, 2), url)
    await decide_url(client, "bbbbbbbb-0000-4000-8000-000000000002", (7,), url)  # another tab, the same file
    before = decisions(mend, "aaaaaaaa-0000-4000-8000-000000000001")
    assert {v["status"] for v in before.values()} == {"pending_download"}

    resp = await client.post("/mend/models/download", json={"url": url, "folder": "loras",
                                                            "relpath": "ink.safetensors"})
    assert resp.status == 202
    task = await mend.tasks.wait((await resp.json())["id"], timeout=60)
    assert task.state == "completed"
    await settled(mend)
    after = decisions(mend, "aaaaaaaa-0000-4000-8000-000000000001")
    assert after == {k: {**v, "status": "resolved", "sha256": SHA} for k, v in before.items()}
    assert {"value", "source", "url", "folder", "path"} <= set(after["1/lora_name"])
    other = decisions(mend, "bbbbbbbb-0000-4000-8000-000000000002")
    assert [v["status"] for v in other.values()] == ["resolved"]
    assert mend.manifest.models()["loras/ink.safetensors"]["sha256"] == SHA

    # once: the decision log holds one write for this file, and a second event writes nothing
    records = len(mend.manifest.log.read())
    mend.extras["model_recorder"]("mend.task", task.to_json())
    await settled(mend)
    assert len(mend.manifest.log.read()) == records
    resolved = [r for r in mend.manifest.log.read() for op in r["ops"]
                if op["path"][0] == "workflows" and op["value"].get("status") == "resolved"]
    assert len(resolved) == 3
    await mend.close()


async def test_a_decision_expecting_another_sha256_stays_pending(aiohttp_client, comfy_dir, small_catalog,
                                                                tmp_path, hub):
    mend = make_mend(comfy_dir, small_catalog, tmp_path, hub)
    client = await client_for(aiohttp_client, mend)
    url = f"{hub.url}/acme/loras/resolve/main/ink.safetensors"
    graph_id = "cccccccc-0000-4000-8000-000000000003"
    await decide_url(client, graph_id, (1,), url)
    await asyncio.to_thread(mend.manifest.write, [{"op": "set", "path": [
        "workflows", graph_id, "models", "1/lora_name"], "value": {
        **decisions(mend, graph_id)["1/lora_name"], "sha256": "0" * 64}}])
    resp = await client.post("/mend/models/download", json={"url": url, "folder": "loras",
                                                            "relpath": "ink.safetensors"})
    assert (await mend.tasks.wait((await resp.json())["id"], timeout=60)).state == "completed"
    await settled(mend)
    assert decisions(mend, graph_id)["1/lora_name"]["status"] == "pending_download"
    await mend.close()


async def test_a_download_resumed_after_a_restart_resolves_its_decision(aiohttp_client, comfy_dir, small_catalog,
                                                                       tmp_path, hub):
    hub.faults.append(Fault("ink.safetensors", "trickle", piece=2048, delay=0.05, times=100))  # 7 s for the file
    first = make_mend(comfy_dir, small_catalog, tmp_path, hub)
    client = await client_for(aiohttp_client, first)
    url = f"{hub.url}/acme/loras/resolve/main/ink.safetensors"
    graph_id = "dddddddd-0000-4000-8000-000000000004"
    await decide_url(client, graph_id, (3,), url)
    resp = await client.post("/mend/models/download", json={"url": url, "folder": "loras",
                                                            "relpath": "ink.safetensors"})
    task_id = (await resp.json())["id"]
    part = comfy_dir / "models" / "loras" / "ink.safetensors.part"
    for _ in range(400):  # some bytes arrive, then the server goes away mid-download
        if part.is_file() and part.stat().st_size:
            break
        await asyncio.sleep(0.01)
    await first.close()
    assert not (comfy_dir / "models" / "loras" / "ink.safetensors").exists()
    assert decisions(first, graph_id)["3/lora_name"]["status"] == "pending_download"

    hub.faults.clear()
    second = make_mend(comfy_dir, small_catalog, tmp_path, hub)
    await client_for(aiohttp_client, second)  # starting replays the journal: the download resumes by itself
    assert (await second.tasks.wait(task_id, timeout=60)).state == "completed"
    await settled(second)
    entry = decisions(second, graph_id)["3/lora_name"]
    assert entry["status"] == "resolved" and entry["value"] == "ink.safetensors" and entry["source"] == "url"
    await second.close()
