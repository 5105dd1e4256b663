"""``mend resolve`` downloads what was decided (from a loopback hub), records it, and a re-run does nothing."""

from __future__ import annotations

import hashlib
import json

import pytest

from mend.cli import build_parser
from mend.cli import resolve as cli_resolve
from mend.core import constants
from mend.core.decide.manifest import Manifest

from ..hf_server import FakeHub, safetensors_bytes

URL = "https://huggingface.co/acme/models/resolve/main/m.safetensors"


@pytest.fixture
async def hub(aiohttp_server, monkeypatch):
    hub = FakeHub()
    hub.server = await aiohttp_server(hub.app())
    monkeypatch.setenv("HF_ENDPOINT", str(hub.server.make_url("")).rstrip("/"))
    monkeypatch.setattr(constants, "TEST_ALLOW_HTTP_LOOPBACK", True)
    return hub


def never_asked(question):
    raise AssertionError(f"asked {question.item.ref}: --yes should have taken the certain match")


async def test_resolve_downloads_the_decided_model_and_a_rerun_fetches_nothing(comfy_dir, small_catalog, tmp_path,
                                                                               hub, capsys):
    data = safetensors_bytes(4096, seed=3)
    hub.add_file("acme/models", "m.safetensors", data)
    node = {"id": 7, "type": "LoraLoader", "widgets_values": ["m.safetensors", 1.0, 1.0],
            "properties": {"models": [{"name": "m.safetensors", "url": URL, "directory": "loras"}]}}
    wf = comfy_dir / "user" / "default" / "workflows" / "dl.json"
    wf.parent.mkdir(parents=True, exist_ok=True)
    wf.write_text(json.dumps({"version": 0.4, "nodes": [node], "links": []}))
    manifest = tmp_path / "state" / "pyproject.toml"
    argv = ["resolve", str(wf), "--comfyui", str(comfy_dir), "--catalog-dir", str(small_catalog),
            "--manifest", str(manifest), "--no-registry", "--yes"]

    assert await cli_resolve.run(build_parser().parse_args(argv), ask=never_asked) == 0
    placed = comfy_dir / "models" / "loras" / "m.safetensors"
    assert hashlib.sha256(placed.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    assert "1 to install or download" in capsys.readouterr().out
    state = Manifest(manifest, autofold=False)
    assert state.resolutions("dl.json")["models"]["7/lora_name"]["status"] == "resolved"
    assert state.models()["loras/m.safetensors"]["sources"] == [URL]
    assert state.models()["loras/m.safetensors"]["sha256"] == hashlib.sha256(data).hexdigest()

    served = len(hub.requests)
    assert await cli_resolve.run(build_parser().parse_args(argv), ask=never_asked) == 0
    assert len(hub.requests) == served


def two_instances_workflow(url: str) -> dict:
    """One file named by a subgraph used twice and by a top-level loader, the Windows way (so resolving
    rewrites it), and a bypassed node naming another file."""
    meta = {"name": "flux\\m.safetensors", "url": url, "directory": "loras"}
    return {
        "version": 0.4, "links": [],
        "nodes": [{"id": 10, "type": "sg-1"}, {"id": 11, "type": "sg-1"},
                  {"id": 13, "type": "LoraLoader", "widgets_values": ["flux\\m.safetensors", 0.5, 0.5]},
                  {"id": 12, "type": "LoraLoader", "mode": 4, "widgets_values": ["unused.safetensors", 1.0, 1.0],
                   "properties": {"models": [{"name": "unused.safetensors", "url": url.replace("m.", "unused."),
                                              "directory": "loras"}]}}],
        "definitions": {"subgraphs": [{"id": "sg-1", "links": [], "nodes": [
            {"id": 5, "type": "LoraLoader", "widgets_values": ["flux\\m.safetensors", 1.0, 1.0],
             "properties": {"models": [meta]}}]}]},
    }


async def test_one_file_named_by_two_nodes_is_downloaded_once_and_both_widgets_rewritten(
        comfy_dir, small_catalog, tmp_path, hub, capsys):
    data = safetensors_bytes(4096, seed=5)
    hub.add_file("acme/models", "m.safetensors", data)
    wf = tmp_path / "two.json"
    wf.write_text(json.dumps(two_instances_workflow(URL), indent=2))
    argv = ["resolve", str(wf), "--comfyui", str(comfy_dir), "--catalog-dir", str(small_catalog),
            "--manifest", str(tmp_path / "state" / "pyproject.toml"), "--no-registry", "--yes"]

    assert await cli_resolve.run(build_parser().parse_args(argv), ask=never_asked) == 0
    out = capsys.readouterr()
    assert "left alone: model unused.safetensors" in out.out and "only bypassed nodes use it" in out.out
    assert "1 to install or download" in out.out and "(nodes 10:5, 11:5, 13)" in out.out
    assert "failed" not in out.err
    assert len([r for r in hub.requests if r[0] == "GET" and r[1].endswith("/m.safetensors")]) == 1
    assert not any("unused" in r[1] for r in hub.requests)
    placed = comfy_dir / "models" / "loras" / "flux" / "m.safetensors"
    assert placed.read_bytes() == data
    saved = json.loads(wf.read_text())
    assert saved["definitions"]["subgraphs"][0]["nodes"][0]["widgets_values"][0] == "flux/m.safetensors"
    assert saved["nodes"][2]["widgets_values"] == ["flux/m.safetensors", 0.5, 0.5]
