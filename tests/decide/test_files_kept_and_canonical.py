"""Rewrites keep a file's mode, killed rewrites leave no temp files, one workflow has one id, and the smaller
input rules of the downloads route (a sha256 that is not one, a pickle suffix with a trailing dot).

Over HTTP against the app, with real files and modes.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
import time

import pytest
from aiohttp import web

from mend.core.atomic_files import UMASK
from mend.core.catalog.registry import RegistryClient
from mend.core.catalog.store import CatalogStore
from mend.core.host_standalone import StandaloneHost
from mend.core.services import Mend
from mend.server_routes import setup

from ..decisions_support import GRAPH_ID, saved_workflow


async def serve(aiohttp_client, mend):
    app = web.Application()
    setup(app, mend)
    return await aiohttp_client(app)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("wanted", [0o644, 0o664, 0o640])
async def test_a_rewritten_workflow_and_manifest_keep_their_mode(aiohttp_client, comfy_dir, small_catalog, mend_for,
                                                                 wanted):
    wf = saved_workflow(comfy_dir)
    os.chmod(wf, wanted)
    mend = mend_for(comfy_dir, small_catalog)
    client = await serve(aiohttp_client, mend)
    resp = await client.post("/mend/decisions", json={"workflow": "w.json", "model": "3/ckpt_name",
                                                      "action": "candidate", "candidate": 0})
    assert resp.status == 200 and (await resp.json())["workflow_file_changed"] is True
    assert mode(wf) == wanted
    await asyncio.to_thread(mend.manifest.flush)
    assert mode(mend.manifest_path) == 0o666 & ~UMASK  # a new file: the umask's mode, not mkstemp's 0600
    os.chmod(mend.manifest_path, wanted)
    resp = await client.post("/mend/decisions", json={"workflow": "w.json", "node_type": "AlphaNode",
                                                      "action": "candidate", "candidate": 0})
    assert resp.status == 200
    await asyncio.to_thread(mend.manifest.flush)
    assert mode(mend.manifest_path) == wanted


async def test_a_projects_own_pyproject_keeps_its_mode(aiohttp_client, comfy_dir, small_catalog, tmp_path):
    project = tmp_path / "project" / "pyproject.toml"
    project.parent.mkdir()
    project.write_text('[project]\nname = "mine"\n')
    os.chmod(project, 0o664)
    saved_workflow(comfy_dir)
    mend = Mend.create(StandaloneHost(comfy_dir), catalogs=CatalogStore(catalog_dir=small_catalog,
                       cache_dir=tmp_path / "cache"), registry=RegistryClient(""), manifest_path=project,
                       cache_dir=tmp_path / "cache")
    client = await serve(aiohttp_client, mend)
    resp = await client.post("/mend/decisions", json={"workflow": "w.json", "node_type": "AlphaNode",
                                                      "action": "optional"})
    assert resp.status == 200
    await asyncio.to_thread(mend.manifest.flush)
    assert "AlphaNode" in project.read_text() and 'name = "mine"' in project.read_text()
    assert mode(project) == 0o664


async def test_temp_files_of_killed_rewrites_are_removed_at_start(comfy_dir, small_catalog, mend_for):
    wf = saved_workflow(comfy_dir)
    stale = wf.with_name(".w.json.k3j_x9ab.tmp")
    fresh = wf.with_name(".w.json.q1w2e3r4.tmp")  # a live writer's, seconds old: left alone
    mine = wf.with_name(".notes.tmp")  # not Mend's name pattern: never touched
    for path in (stale, fresh, mine):
        path.write_text("{")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    os.utime(mine, (old, old))
    mend = mend_for(comfy_dir, small_catalog)
    await mend.start()
    try:
        assert not stale.exists() and fresh.exists() and mine.exists() and wf.exists()
    finally:
        await mend.close()


async def test_one_workflow_one_id(aiohttp_client, comfy_dir, small_catalog, mend_for):
    saved_workflow(comfy_dir)
    mend = mend_for(comfy_dir, small_catalog)
    client = await serve(aiohttp_client, mend)
    for ident, node in (("./w.json", "AlphaNode"), ("w.json\n", "SharedNode"), (" .//w.json", "Gen_Thing")):
        resp = await client.post("/mend/decisions", json={"workflow": ident, "node_type": node, "action": "skip"})
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["workflow"] == "w.json"
    graph = json.loads((comfy_dir / "user/default/workflows/w.json").read_text())
    resp = await client.post("/mend/decisions", json={"workflow": GRAPH_ID.upper() + "\n", "graph": graph,
                                                      "node_type": "AlphaNode", "action": "skip"})
    assert resp.status == 200 and (await resp.json())["workflow"] == GRAPH_ID
    got = await (await client.get("/mend/decisions", params={"workflow": "./w.json"})).json()
    assert sorted(got["nodes"]) == ["AlphaNode", "Gen_Thing", "SharedNode"]
    assert sorted(mend.manifest.data()["workflows"]) == sorted(["w.json", GRAPH_ID])


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"sha256": 12345}, 400, "invalid_field"),
    ({"sha256": 0}, 400, "invalid_field"),
    ({"sha256": "abc"}, 400, "invalid_field"),
    ({"filename": "x.ckpt."}, 403, "confirmation_required"),
    ({"filename": "x.PTH "}, 403, "confirmation_required"),
])
async def test_download_inputs_are_refused_not_dropped(aiohttp_client, comfy_dir, small_catalog, mend_for, body,
                                                       status, code):
    mend = mend_for(comfy_dir, small_catalog)
    client = await serve(aiohttp_client, mend)
    request = {"url": "https://huggingface.co/a/b/resolve/main/x.safetensors", "folder": "loras", **body}
    resp = await client.post("/mend/models/download", json=request)
    assert (resp.status, (await resp.json())["error"]["code"]) == (status, code)
    assert await mend.tasks.list() == []


async def test_a_rewrite_killed_by_sigkill_leaves_nothing_after_the_next_start(comfy_dir, small_catalog, mend_for):
    """A real second process writes a workflow's temp file and is SIGKILLed before its rename."""
    wf = saved_workflow(comfy_dir)
    code = ("import os, sys; from pathlib import Path; from mend.core.atomic_files import write_temp;"
            "write_temp(Path(sys.argv[1]), '{}'); os.kill(os.getpid(), 9)")
    done = subprocess.run([sys.executable, "-c", code, str(wf)], check=False)
    assert done.returncode == -signal.SIGKILL
    left = [p for p in wf.parent.iterdir() if p.name.endswith(".tmp")]
    assert len(left) == 1
    old = time.time() - 3600  # the kill was a while ago: no live writer can own it
    os.utime(left[0], (old, old))
    mend = mend_for(comfy_dir, small_catalog)
    await mend.start()
    try:
        assert [p.name for p in wf.parent.iterdir()] == ["w.json"]
    finally:
        await mend.close()
