"""Hostile input over HTTP: each case that once answered 500 (or 502) is a named 4xx, and nothing is written.

A full disk is a real one where the test may mount a tiny tmpfs (root), answered 507.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from aiohttp import web

from mend.server_routes import setup

from ..decisions_support import saved_workflow

DEEP = "[" * 100_000 + "]" * 100_000
JSON_ROUTES = ["/mend/analyze", "/mend/decisions", "/mend/models/search", "/mend/models/download",
               "/mend/nodes/install", "/mend/manifest/sync"]


def tree(root: Path) -> list[tuple[str, str]]:
    """Every file and its content's hash; Mend's task journal and lock files aside (empty state machinery)."""
    return sorted((str(p.relative_to(root)), hashlib.sha256(p.read_bytes()).hexdigest()) for p in root.rglob("*")
                  if p.is_file() and not p.name.startswith("tasks.") and p.suffix != ".lock" and p.name != "filler")


@pytest.fixture
async def env(aiohttp_client, comfy_dir, small_catalog, mend_for):
    saved_workflow(comfy_dir, "kf.json")
    mend = mend_for(comfy_dir, small_catalog)
    app = web.Application()
    setup(app, mend)
    client = await aiohttp_client(app)
    return client, mend, comfy_dir


async def post_raw(client, path: str, text: str):
    return await client.post(path, data=text.encode("utf-8", "surrogatepass"),
                             headers={"Content-Type": "application/json"})


async def expect(resp, status: int, code: str) -> dict:
    body = await resp.json()
    assert resp.status == status, body
    assert body["error"]["code"] == code and body["error"]["message"], body
    return body["error"]


@pytest.mark.parametrize("path", JSON_ROUTES)
async def test_deep_nesting_is_a_400_on_every_json_route(env, path):
    client, _, root = env
    before = tree(root)
    await expect(await post_raw(client, path, DEEP), 400, "invalid_json")
    await expect(await post_raw(client, path, "[" * 150 + "]" * 150), 400, "invalid_json")  # parses; too deep to walk
    assert tree(root) == before


@pytest.mark.parametrize("ident", ["a" * 300 + ".json", "d/" * 600 + "x.json", "x" * 5000])
async def test_workflow_ids_longer_than_a_file_name(env, ident):
    client, _, root = env
    before = tree(root)
    resp = await client.get("/mend/decisions", params={"workflow": ident})
    assert resp.status in (400, 404), await resp.text()
    resp = await client.post("/mend/analyze", json={"workflow": {"nodes": []}, "workflow_id": ident})
    assert resp.status in (400, 404)
    resp = await client.post("/mend/decisions", json={"workflow": ident, "node_type": "AlphaNode", "action": "skip"})
    assert resp.status in (400, 404)
    assert tree(root) == before


async def test_a_node_id_that_is_an_object(env):
    """Never a 500; and, as for any broken part of a workflow, a warning rather than a refusal (issue 16)."""
    client, _, _ = env
    wf = {"nodes": [{"id": {"a": 1}, "type": "CheckpointLoaderSimple", "widgets_values": ["m.safetensors"]}],
          "links": [[1, {"a": 1}, 0, [2], 0, "X"]]}
    resp = await client.post("/mend/analyze", json=wf)
    assert resp.status == 200
    codes = {(w["code"], w.get("field")) for w in (await resp.json())["warnings"]}
    assert codes == {("odd_field", "nodes[0].id"), ("dangling_link", "links[0]")}


@pytest.mark.parametrize("text", [
    '{"nodes": [{"id": 1, "type": "X\\ud800"}]}',
    '{"nodes": [{"id": 1, "type": "CheckpointLoaderSimple", "widgets_values": ["a\\udfff.safetensors"]}]}',
    '{"nodes": [{"id": 1, "type": "A", "properties": {"\\ud800": 1}}]}',
])
async def test_lone_surrogates(env, text):
    client, _, root = env
    before = tree(root)
    await expect(await post_raw(client, "/mend/analyze", text), 400, "invalid_json")
    await expect(await post_raw(client, "/mend/decisions", text.replace('{"nodes"', '{"workflow": "kf.json", '
                                                                        '"action": "skip", "node_type": "X", "g"')),
                 400, "invalid_json")
    assert tree(root) == before


@pytest.mark.parametrize("manifest", [
    "[tool.mend.packs]\na = 1\n",
    "[tool.mend.models]\nb = 'x'\n",
    "[tool.mend]\nx = " + "[" * 5000 + "]" * 5000 + "\n",
    "[tool.mend]\nx = " + "[" * 200 + "]" * 200 + "\n",
    '[tool.mend.models."loras/x.safetensors"]\nfolder = "loras"\npath = "x.safetensors"\nsources = "https://hf.co/x"\n',
])
async def test_sync_manifests_that_are_not_manifests(env, manifest):
    client, mend, root = env
    before = tree(root)
    for dry in (True, False):
        resp = await client.post("/mend/manifest/sync", json={"manifest": manifest, "dry_run": dry})
        await expect(resp, 409, "manifest_corrupt")
    assert await mend.tasks.list() == []
    assert tree(root) == before


@pytest.mark.parametrize("repos", [["../.."], ["a/b/c"], ["-x/y"], ["a" * 200 + "/b"], ["x/y"] * 21, "org/repo"])
async def test_bad_repos_in_search_are_the_callers_mistake(env, repos):
    client, _, _ = env
    resp = await client.post("/mend/models/search", json={"filename": "x.safetensors", "repos": repos})
    await expect(resp, 400, "invalid_field")


# -- a full disk ---------------------------------------------------------------------------------------
@contextlib.contextmanager
def tiny_tmpfs(where: Path, size_kb: int = 512):
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(where)],
                          capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()[:80]}): needs root")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(folder: Path) -> None:
    """Write until the file system refuses: ENOSPC for whatever comes next."""
    with open(folder / "filler", "wb", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 4096)


async def test_a_full_disk_is_507_and_nothing_is_written(tmp_path, comfy_dir, small_catalog, mend_for,
                                                         aiohttp_client):
    with tiny_tmpfs(tmp_path / "disk") as disk:
        user = disk / "user"
        (user / "default" / "workflows").mkdir(parents=True)
        (comfy_dir / "models" / "checkpoints" / "xl").mkdir()
        (comfy_dir / "models" / "checkpoints" / "xl" / "sdxl.safetensors").write_bytes(b"x" * 10)
        from ..decisions_support import GRAPH_ID, workflow_json

        (user / "default" / "workflows" / "w.json").write_text(json.dumps(workflow_json(), indent=2))
        mend = mend_for(comfy_dir, small_catalog, user_dir=user)
        app = web.Application()
        setup(app, mend)
        client = await aiohttp_client(app)
        # one decision while there is room: the manifest and its log exist
        resp = await client.post("/mend/decisions", json={"workflow": "w.json", "node_type": "AlphaNode",
                                                          "action": "candidate", "candidate": 0})
        assert resp.status == 200, await resp.text()
        fill(disk)
        decisions = [
            {"workflow": "w.json", "node_type": "SharedNode", "action": "optional"},
            {"workflow": "w.json", "node_type": "Gen_Thing", "action": "skip"},
            {"workflow": "w.json", "model": "3/ckpt_name", "action": "candidate", "candidate": 0},
            {"workflow": "w.json", "model": "12:5/lora_name", "action": "url",
             "url": "https://huggingface.co/a/b/resolve/main/l.safetensors"},
            {"graph": {**workflow_json(), "id": str(uuid.uuid4())}, "node_type": "SharedNode", "action": "skip"},
            {"workflow": GRAPH_ID, "graph": workflow_json(), "node_type": "SharedNode", "action": "skip"},
        ] * 3
        statuses = []
        for body in decisions:
            # a write into the last, partly used page of a file still fits: stored (200) or refused (507)
            before = tree(user)
            resp = await client.post("/mend/decisions", json=body)
            statuses.append(resp.status)
            if resp.status != 200:
                error = await expect(resp, 507, "disk_full")
                assert "nothing was changed" in error["message"]
                assert tree(user) == before
        assert 507 in statuses, statuses
        stored = (await (await client.get("/mend/decisions", params={"workflow": "w.json"})).json())["nodes"]
        assert "AlphaNode" in stored
        await mend.close()


async def test_a_full_disk_without_root(env, monkeypatch):
    """Where no tmpfs can be mounted: the decision log's write fails with ENOSPC as it would on a full disk."""
    client, _, root = env
    real_write = os.write

    def full(fd: int, data) -> int:
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".decisions.jsonl"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full)
    before = tree(root)
    resp = await client.post("/mend/decisions", json={"workflow": "kf.json", "node_type": "AlphaNode",
                                                      "action": "skip"})
    await expect(resp, 507, "disk_full")
    assert tree(root) == before
