"""``mend resolve`` downloads what was decided (from a loopback hub), records it, and a re-run does nothing."""

from __future__ import annotations

import hashlib
import json

import pytest

from mend.cli import build_parser
from mend.cli import resolve as cli_resolve
from mend.core import constants
from mend.core.manifest import Manifest

from .hf_server import FakeHub, safetensors_bytes

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
