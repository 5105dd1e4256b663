"""Decisions over HTTP: applied at once to the manifest and the workflow file, refused cleanly, rolled back."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from aiohttp import web

from mend.core import atomic_files
from mend.core.decide.decisions import Decision, apply_decision
from mend.core.resolve.target import analyze_target, target_from_request
from mend.server_routes import setup

from ..decisions_support import GRAPH_ID, saved_workflow, workflow_json


@pytest.fixture
def mend(comfy_dir, small_catalog, mend_for):
    m = mend_for(comfy_dir, small_catalog)
    yield m
    m.manifest.close()


@pytest.fixture
def wf_file(comfy_dir) -> Path:
    return saved_workflow(comfy_dir)


@pytest.fixture
async def client(aiohttp_client, mend):
    app = web.Application()
    setup(app, mend)
    return await aiohttp_client(app)


def state(mend, wf_file: Path) -> tuple:
    """Everything a refused decision must leave as it was."""
    mend.manifest.flush()  # no background fold may land between two snapshots

    def read(p: Path) -> bytes | None:
        return p.read_bytes() if p.exists() else None

    return read(mend.manifest.path), read(mend.manifest.log.path), wf_file.read_bytes()


async def test_local_model_choice_rewrites_the_widget_and_is_on_disk(client, mend, wf_file):
    r = await client.post("/mend/decisions", json={"workflow": "w.json", "model": "3/ckpt_name",
                                                   "action": "candidate", "candidate": 0})
    assert r.status == 200, await r.text()
    body = await r.json()
    assert body["workflow_file_changed"] is True
    assert body["stored"] == {"value": "sdxl.safetensors", "folder": "checkpoints", "path": "xl/sdxl.safetensors",
                              "status": "resolved", "source": "local"}
    saved = json.loads(wf_file.read_text())
    assert saved["nodes"][2]["widgets_values"] == ["xl/sdxl.safetensors"]
    assert {k: v for k, v in saved.items() if k != "nodes"} == {k: v for k, v in workflow_json().items()
                                                                if k != "nodes"}
    r = await client.get("/mend/decisions", params={"workflow": "w.json"})
    assert (await r.json())["models"]["3/ckpt_name"]["status"] == "resolved"
    report = await analyze_target(mend, target_from_request(mend.host, "w.json"))
    assert [m.key for m in report.present_models] == ["3/ckpt_name"]


async def test_pasted_url_rewrites_the_widget_inside_the_subgraph(client, mend, wf_file):
    r = await client.post("/mend/decisions", json={
        "workflow": "w.json", "model": "12:5/lora_name", "action": "url",
        "url": "https://huggingface.co/acme/loras/resolve/main/known-v2.safetensors",
        "path": "sd/known-v2.safetensors"})
    assert r.status == 200, await r.text()
    saved = json.loads(wf_file.read_text())
    assert saved["definitions"]["subgraphs"][0]["nodes"][0]["widgets_values"] == ["sd/known-v2.safetensors", 1.0, 1.0]
    entry = mend.manifest.resolutions("w.json")["models"]["12:5/lora_name"]
    assert entry["status"] == "pending_download" and entry["folder"] == "loras"
    assert entry["url"].endswith("known-v2.safetensors")


async def test_node_decisions_and_resume_marks(client, mend, wf_file):
    for body in ({"node_type": "SharedNode", "action": "candidate", "candidate": 1},
                 {"node_type": "Gen_Thing", "action": "optional"},
                 {"node_type": "AlphaNode", "action": "skip"}):
        r = await client.post("/mend/decisions", json={"workflow": "w.json", **body})
        assert r.status == 200, await r.text()
    got = await (await client.get("/mend/decisions", params={"workflow": "w.json"})).json()
    assert got["nodes"] == {"SharedNode": {"status": "resolved", "pack": "https://github.com/bob/copycat"},
                            "Gen_Thing": {"status": "optional"}, "AlphaNode": {"status": "skipped"}}
    report = await analyze_target(mend, target_from_request(mend.host, "w.json"))
    out = report.to_json()
    assert {n["type"]: n.get("decision") for n in out["missing_nodes"]} == got["nodes"]
    assert out["summary"]["blocking"] == 4  # 5 missing, the optional node does not block
    assert out["summary"]["decided"] == 3 and out["summary"]["questions"] == 1
    assert wf_file.read_text() == json.dumps(workflow_json(), indent=2) + "\n"  # node decisions leave it alone

    for undo in ({"node_type": "Gen_Thing", "action": "undo"}, {"node_type": "AlphaNode", "action": "undo"}):
        r = await client.post("/mend/decisions", json={"workflow": "w.json", **undo})
        assert r.status == 200 and (await r.json())["stored"] is None
    got = await (await client.get("/mend/decisions", params={"workflow": "w.json"})).json()
    assert got["nodes"] == {"SharedNode": {"status": "resolved", "pack": "https://github.com/bob/copycat"}}


async def test_unsaved_graph_is_known_by_its_id(client, mend, wf_file):
    r = await client.post("/mend/decisions", json={"graph": workflow_json(), "model": "3/ckpt_name",
                                                   "action": "candidate", "candidate": 0})
    assert r.status == 200, await r.text()
    assert (await r.json())["workflow_file_changed"] is False
    assert mend.manifest.resolutions(GRAPH_ID)["models"]["3/ckpt_name"]["path"] == "xl/sdxl.safetensors"
    assert mend.manifest.resolutions("w.json") == {"nodes": {}, "models": {}}
    r = await client.get("/mend/decisions", params={"workflow": GRAPH_ID})
    assert "3/ckpt_name" in (await r.json())["models"]


BAD = [
    ({"workflow": "w.json", "model": "99/ckpt_name", "action": "optional"}, 400, "invalid_field", "model"),
    ({"workflow": "w.json", "node_type": "NotMissing", "action": "optional"}, 400, "invalid_field", "node_type"),
    ({"workflow": "w.json", "node_type": "SharedNode", "action": "candidate", "candidate": 7}, 400, "invalid_field",
     "candidate"),
    ({"workflow": "w.json", "model": "3/ckpt_name", "action": "candidate", "candidate": -1}, 400, "invalid_field",
     "candidate"),
    ({"workflow": "../w.json", "node_type": "SharedNode", "action": "optional"}, 400, "unsafe_path", "workflow"),
    ({"workflow": "/etc/w.json", "node_type": "SharedNode", "action": "optional"}, 400, "unsafe_path", "workflow"),
    ({"workflow": "nope.json", "node_type": "SharedNode", "action": "optional"}, 404, "not_found", "workflow"),
    ({"workflow": "w.json", "model": "3/ckpt_name", "action": "url", "url": "https://hf.co/a.safetensors",
      "folder": "no_such_folder"}, 400, "unknown_folder", "folder"),
    ({"workflow": "w.json", "model": "3/ckpt_name", "action": "url", "url": "https://hf.co/a.safetensors",
      "path": "../../escape.safetensors"}, 400, "unsafe_path", "path"),
    ({"workflow": "w.json", "model": "3/ckpt_name", "action": "url", "url": "http://hf.co/a.safetensors"}, 400,
     "invalid_field", "url"),
    ({"workflow": "w.json", "node_type": "SharedNode", "action": "url", "url": "https://hf.co/x"}, 400,
     "invalid_field", "action"),
    ({"workflow": "w.json", "node_type": "SharedNode", "action": "maybe"}, 400, "invalid_field", "action"),
    ({"workflow": GRAPH_ID, "node_type": "SharedNode", "action": "optional"}, 400, "invalid_field", "graph"),
]


@pytest.mark.parametrize(("body", "status", "code", "field"), BAD)
async def test_bad_decisions_are_refused_and_change_nothing(client, mend, wf_file, body, status, code, field):
    ok = await client.post("/mend/decisions", json={"workflow": "w.json", "node_type": "AlphaNode",
                                                    "action": "candidate", "candidate": 0})
    assert ok.status == 200
    before = state(mend, wf_file)
    r = await client.post("/mend/decisions", json=body)
    assert r.status == status, await r.text()
    error = (await r.json())["error"]
    assert (error["code"], error.get("field")) == (code, field)
    assert state(mend, wf_file) == before


async def test_corrupt_manifest_is_refused_with_409_and_left_alone(client, mend, wf_file):
    mend.manifest.path.parent.mkdir(parents=True, exist_ok=True)
    mend.manifest.path.write_text("[tool.mend]\nversion = = 1\n")
    before = state(mend, wf_file)
    r = await client.post("/mend/decisions", json={"workflow": "w.json", "model": "3/ckpt_name",
                                                   "action": "candidate", "candidate": 0})
    assert r.status == 409
    error = (await r.json())["error"]
    assert error["code"] == "manifest_corrupt" and "line 2" in error["message"]
    assert state(mend, wf_file) == before
    r = await client.get("/mend/decisions", params={"workflow": "w.json"})
    assert r.status == 409


async def test_non_json_post_is_refused(client):
    r = await client.post("/mend/decisions", data="node_type=x", headers={"Content-Type": "text/plain"})
    assert r.status == 415


async def test_failed_workflow_write_rolls_both_files_back(mend, wf_file, monkeypatch):
    target = target_from_request(mend.host, "w.json")
    report = await analyze_target(mend, target)
    apply_decision(mend, target, report, Decision("node", "SharedNode", "candidate", 0))  # an earlier decision
    before = state(mend, wf_file)
    real_replace = os.replace

    def replace(src, dst):
        if str(dst).endswith(".json"):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(atomic_files.os, "replace", replace)  # where the workflow file is replaced
    with pytest.raises(OSError):
        apply_decision(mend, target, report, Decision("model", "3/ckpt_name", "candidate", 0))
    assert state(mend, wf_file) == before
    assert mend.manifest.resolutions("w.json") == {"nodes": {"SharedNode": "comfyui-alpha"}, "models": {}}
    assert [p.name for p in wf_file.parent.iterdir()] == ["w.json"]  # no temp file left behind
