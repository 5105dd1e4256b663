"""``GET /mend/manifest/freeze`` and ``POST /mend/manifest/sync`` over a real aiohttp app and task manager."""

from __future__ import annotations

import hashlib
import json

import pytest
from aiohttp import web

from mend.core.catalog.source_policy import DownloadPolicy
from mend.server_routes import setup

from ..hf_server import FakeHub, safetensors_bytes

DATA = safetensors_bytes(4096, seed=7)


@pytest.fixture
async def env(comfy_dir, small_catalog, mend_for, aiohttp_server, aiohttp_client):
    hub = FakeHub()
    hub.add_file("acme/models", "lora.safetensors", DATA)
    hub_server = await aiohttp_server(hub.app())
    hub.url = str(hub_server.make_url("")).rstrip("/")
    mend = mend_for(comfy_dir, small_catalog)
    mend.extras["download_policy"] = DownloadPolicy(hf_endpoint=hub.url, allow_http_loopback=True)
    (comfy_dir / "models" / "loras" / "mine.safetensors").write_bytes(DATA)
    workflows = comfy_dir / "user" / "default" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "w.json").write_text(json.dumps({
        "nodes": [{"id": 1, "type": "LoraLoader", "mode": 0, "widgets_values": ["mine.safetensors", 1, 1]}],
        "links": [], "models": [{"name": "mine.safetensors", "directory": "loras",
                                 "url": f"{hub.url}/acme/models/resolve/main/lora.safetensors"}]}))
    app = web.Application()
    setup(app, mend)
    client = await aiohttp_client(app)
    return mend, client, hub


async def test_freeze_route_pins_the_workflows_models_and_writes_nothing(env):
    mend, client, hub = env
    resp = await client.get("/mend/manifest/freeze", params={"workflow": "w.json"})
    assert resp.status == 200
    body = await resp.json()
    [model] = body["models"]
    assert model["key"] == "loras/mine.safetensors" and model["sha256"] == hashlib.sha256(DATA).hexdigest()
    assert model["sources"] == [f"{hub.url}/acme/models/resolve/main/lora.safetensors"]
    assert model["sha256"] in body["toml"] and not mend.manifest_path.exists()

    resp = await client.get("/mend/manifest/freeze", params={"format": "toml"})
    assert resp.status == 200 and resp.content_type == "application/toml"
    assert "mine.safetensors" in await resp.text()

    for params, code in (({"format": "xml"}, "invalid_field"), ({"workflow": "../x.json"}, "unsafe_path"),
                         ({"workflow": "missing.json"}, "not_found")):
        resp = await client.get("/mend/manifest/freeze", params=params)
        assert resp.status in (400, 404) and (await resp.json())["error"]["code"] == code


async def test_sync_route_starts_tasks_and_a_second_sync_starts_none(env):
    mend, client, _ = env
    text = (await (await client.get("/mend/manifest/freeze", params={"format": "toml", "workflow": "w.json"})).text())
    text = text.replace('path = "mine.safetensors"', 'path = "copy/mine.safetensors"').replace(
        '"loras/mine.safetensors"', '"loras/copy/mine.safetensors"')
    resp = await client.post("/mend/manifest/sync", json={"manifest": text, "dry_run": True})
    body = await resp.json()
    assert resp.status == 200 and body["tasks"] == [] and body["plan"]["bytes_to_fetch"] == len(DATA)
    assert not (mend.host.model_folders()["loras"][0] / "copy").exists()

    resp = await client.post("/mend/manifest/sync", json={"manifest": text, "client_id": "tab-1"})
    body = await resp.json()
    assert resp.status == 202 and len(body["tasks"]) == 1
    assert body["plan"]["items"][0]["task_id"] == body["tasks"][0]
    task = await mend.tasks.wait(body["tasks"][0], timeout=30)
    assert task.state == "completed" and task.kind == "sync_model" and task.client_id == "tab-1"
    assert (mend.host.model_folders()["loras"][0] / "copy" / "mine.safetensors").read_bytes() == DATA

    resp = await client.post("/mend/manifest/sync", json={"manifest": text})
    body = await resp.json()
    assert resp.status == 202 and body["tasks"] == [] and body["plan"]["summary"] == {"present": 1}


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"manifest": 3}, 400, "invalid_field"),
    ({"manifest": "not = [toml"}, 409, "manifest_corrupt"),
    ({"manifest": "[project]\nname = 'x'\n"}, 409, "manifest_corrupt"),
    ({"dry_run": "yes"}, 400, "invalid_field"),
    ([1, 2], 400, "invalid_field"),
])
async def test_sync_route_refuses_bad_input(env, body, status, code):
    _, client, _ = env
    resp = await client.post("/mend/manifest/sync", json=body)
    assert resp.status == status and (await resp.json())["error"]["code"] == code


async def test_sync_route_needs_json(env):
    _, client, _ = env
    resp = await client.post("/mend/manifest/sync", data="manifest=x")
    assert resp.status == 415
