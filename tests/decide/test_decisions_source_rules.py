"""A pasted model source is judged by one rule, whether a decision stores it or a download fetches it.

Over HTTP: each bad source gets the same named refusal from ``POST /mend/decisions`` and
``POST /mend/models/download``, and neither the manifest nor the model folders change. The
symlinked subfolder is a real symlink leading out of the model folder.
"""

from __future__ import annotations

import pytest
from aiohttp import web

from mend.server_routes import setup

from ..decisions_support import saved_workflow


@pytest.fixture
async def env(aiohttp_client, comfy_dir, small_catalog, mend_for, tmp_path):
    saved_workflow(comfy_dir)
    outside = tmp_path / "outside"
    outside.mkdir()
    (comfy_dir / "models" / "checkpoints" / "linked").symlink_to(outside, target_is_directory=True)
    mend = mend_for(comfy_dir, small_catalog)
    app = web.Application()
    setup(app, mend)
    return await aiohttp_client(app), mend, outside


GOOD = "https://huggingface.co/acme/m/resolve/main/m.safetensors"
CASES = [
    ({"url": "https://user:token@huggingface.co/acme/m/resolve/main/m.safetensors"}, 400, "invalid_field"),
    ({"url": "https://evil.example/m.safetensors"}, 403, "host_not_allowed"),
    ({"url": GOOD, "path": "linked/m.safetensors"}, 400, "unsafe_path"),
    ({"url": "https://[::1/m.safetensors"}, 400, "invalid_field"),
]


@pytest.mark.parametrize(("source", "status", "code"), CASES)
async def test_decisions_and_downloads_refuse_the_same_sources(env, source, status, code):
    client, mend, outside = env
    decision = {"workflow": "w.json", "model": "3/ckpt_name", "action": "url", **source}
    resp = await client.post("/mend/decisions", json=decision)
    body = await resp.json()
    assert (resp.status, body["error"]["code"]) == (status, code), body
    assert "token" not in mend.manifest_path.read_text() if mend.manifest_path.exists() else True

    download = {"url": source["url"], "folder": "checkpoints", "filename": source.get("path", "m.safetensors")}
    resp = await client.post("/mend/models/download", json=download)
    body = await resp.json()
    assert (resp.status, body["error"]["code"]) == (status, code), body
    assert await mend.tasks.list() == []
    assert list(outside.iterdir()) == []
    assert mend.manifest.resolutions("w.json")["models"] == {}


async def test_an_allowed_source_is_stored(env):
    client, mend, _ = env
    resp = await client.post("/mend/decisions", json={"workflow": "w.json", "model": "3/ckpt_name",
                                                      "action": "url", "url": GOOD})
    assert resp.status == 200, await resp.text()
    assert mend.manifest.resolutions("w.json")["models"]["3/ckpt_name"]["url"] == GOOD
