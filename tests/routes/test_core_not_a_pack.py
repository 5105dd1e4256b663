"""Over HTTP: a core node this ComfyUI lacks is reported with its reason, and ComfyUI is never installed as a pack."""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from mend.server_routes import setup

from ..conftest import shared_path

CORE_REPOS = {"https://github.com/comfyanonymous/comfyui", "https://github.com/comfy-org/comfyui"}


@pytest.fixture
async def client(aiohttp_client, comfy_dir, mend_for):
    """A ComfyUI 0.8.0 whose audio modules failed to import: its node list has no audio core nodes."""
    object_info = json.loads(shared_path("corpus", "object_info-comfyui-0.8.0.json").read_text(encoding="utf-8"))
    assert "LoadAudio" not in object_info
    (comfy_dir / "comfyui_version.py").write_text('__version__ = "0.8.0"\n')
    mend = mend_for(comfy_dir, shared_path("catalog"), object_info=object_info)
    app = web.Application()
    setup(app, mend)
    return await aiohttp_client(app)


async def test_analyze_reports_core_nodes_with_their_reason_and_no_pack(client):
    workflow = {"nodes": [
        {"id": 1, "type": "LoadAudio", "properties": {"cnr_id": "comfy-core", "ver": "0.7.0"}},
        {"id": 2, "type": "TrimAudioDuration", "properties": {"cnr_id": "comfy-core", "ver": "0.22.0"}},
        {"id": 3, "type": "LTXVAudioVAEDecode"},
        {"id": 4, "type": "KSampler"},
    ], "links": []}
    resp = await client.post("/mend/analyze", json=workflow)
    assert resp.status == 200
    report = await resp.json()
    nodes = {n["type"]: n for n in report["missing_nodes"]}
    assert set(nodes) == {"LoadAudio", "TrimAudioDuration", "LTXVAudioVAEDecode"}
    for entry in nodes.values():
        assert entry["core"] and entry["candidates"] == [] and not entry["auto"] and entry["status"] == "unknown"
    assert nodes["LoadAudio"]["note"].endswith("its module failed to import (see ComfyUI's log)")
    assert nodes["TrimAudioDuration"]["note"].endswith("needs ComfyUI ≥ 0.22.0 (this is 0.8.0)")
    assert "a newer ComfyUI has it, or a core module failed to import" in nodes["LTXVAudioVAEDecode"]["note"]
    assert report["summary"]["auto"] == 0


@pytest.mark.parametrize("body,field", [
    ({"repository": "https://github.com/comfyanonymous/ComfyUI"}, "repository"),
    ({"repository": "https://github.com/Comfy-Org/ComfyUI.git", "commit": "v0.8.0"}, "repository"),
    ({"repository": "git@github.com:comfyanonymous/ComfyUI.git"}, "repository"),
    ({"id": "comfy-core"}, "id"),
    ({"id": "comfy-core", "repository": "https://github.com/comfyanonymous/ComfyUI", "source": "auto"}, "repository"),
])
async def test_install_refuses_comfyui_itself_with_a_named_400(client, comfy_dir, body, field):
    resp = await client.post("/mend/nodes/install", json=body)
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["code"] == "core_not_a_pack" and error["field"] == field and "not a node pack" in error["message"]
    assert list((comfy_dir / "custom_nodes").iterdir()) == []
    assert (await (await client.get("/mend/tasks")).json())["tasks"] == []
