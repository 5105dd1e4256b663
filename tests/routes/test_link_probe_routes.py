"""Over HTTP: a link that is not Hugging Face's is asked what it would send before it is decided or downloaded.

``POST /mend/decisions`` refuses a link that cannot work with its named 422 (``link_needs_login``,
``link_not_found``, ``link_web_page``, ``link_wrong_kind``, ``link_unreachable``) and changes nothing on
disk; a usable link is stored and answered with its ``probe`` (size, file name, ranges). The download
route refuses the same links before any task exists; the search route shows the probe on a pasted URL
and on the workflow's own links. Answers are cached: rendering again does not ask again.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from aiohttp import web

from mend.core.catalog.source_policy import DownloadPolicy
from mend.server_routes import setup

from ..decisions_support import saved_workflow
from ..link_server import FILE, LinkHost


@pytest.fixture
async def env(aiohttp_client, aiohttp_server, comfy_dir, small_catalog, mend_for):
    workflow = saved_workflow(comfy_dir)
    links = LinkHost()
    server = await aiohttp_server(links.app())
    mend = mend_for(comfy_dir, small_catalog)
    mend.extras["download_policy"] = DownloadPolicy(allow_http_loopback=True, extra_hosts=("127.0.0.1",))
    app = web.Application()
    setup(app, mend)
    client = await aiohttp_client(app)
    return client, mend, links, str(server.make_url("")).rstrip("/"), workflow


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CASES = [
    ("/login/m.safetensors", "link_needs_login"),
    ("/private/m.safetensors", "link_needs_login"),
    ("/gone/m.safetensors", "link_not_found"),
    ("/removed/m.safetensors", "link_not_found"),
    ("/page/m.safetensors", "link_web_page"),
    ("/archive/m.safetensors", "link_wrong_kind"),
    ("/away", "host_not_allowed"),
    (None, "link_unreachable"),
]


@pytest.mark.parametrize(("path", "code"), CASES)
async def test_a_link_that_cannot_work_is_refused_by_name_and_nothing_changes(env, path, code):
    client, mend, links, base, workflow = env
    url = base + path if path else f"http://127.0.0.1:{closed_port()}/m.safetensors"
    before = workflow.read_text()
    manifest_before = mend.manifest_path.read_text() if mend.manifest_path.exists() else None
    resp = await client.post("/mend/decisions", json={"workflow": "w.json", "model": "3/ckpt_name",
                                                      "action": "url", "url": url})
    body = await resp.json()
    assert (resp.status, body["error"]["code"]) == (422 if code != "host_not_allowed" else 403, code), body
    assert body["error"]["message"] and "\n" not in body["error"]["message"]
    assert body["error"]["probe"]["outcome"]
    assert workflow.read_text() == before
    assert (mend.manifest_path.read_text() if mend.manifest_path.exists() else None) == manifest_before
    assert mend.manifest.resolutions("w.json")["models"] == {}

    resp = await client.post("/mend/models/download", json={"url": url, "folder": "checkpoints",
                                                            "filename": "m.safetensors"})
    assert (await resp.json())["error"]["code"] == code
    assert await mend.tasks.list() == []
    assert links.downloads() == 0  # no download began
    assert not list((mend.host.model_folders()["checkpoints"][0]).glob("m.safetensors*"))


async def test_the_login_answer_names_the_host(env):
    client, _, _, base, _ = env
    resp = await client.post("/mend/decisions", json={"workflow": "w.json", "model": "3/ckpt_name",
                                                      "action": "url", "url": base + "/login/m.safetensors"})
    error = (await resp.json())["error"]
    assert error["probe"]["host"] == "127.0.0.1" and error["probe"]["status"] == 401
    assert "127.0.0.1 needs a login" in error["message"] and "no token" in error["message"]


async def test_a_usable_link_is_stored_with_what_its_server_said(env):
    client, mend, links, base, workflow = env
    url = base + "/download?id=7"
    resp = await client.post("/mend/decisions", json={"workflow": "w.json", "model": "3/ckpt_name",
                                                      "action": "url", "url": url, "path": "m.safetensors"})
    body = await resp.json()
    assert resp.status == 200, body
    assert body["probe"] == {"outcome": "usable", "message": body["probe"]["message"], "host": "127.0.0.1",
                             "status": 200, "size": len(FILE), "filename": "real name.safetensors", "ranges": True,
                             "content_type": "application/octet-stream"}
    assert mend.manifest.resolutions("w.json")["models"]["3/ckpt_name"]["url"] == url
    assert json.loads(workflow.read_text())["nodes"][2]["widgets_values"] == ["m.safetensors"]
    # the download that follows, and the same decision again, ask nothing more (cached)
    resp = await client.post("/mend/models/download", json={"url": url, "folder": "checkpoints",
                                                            "filename": "m.safetensors"})
    task = await mend.tasks.wait((await resp.json())["id"], timeout=30)
    assert task.state == "completed", task.to_json()
    assert [m for m, _, _ in links.requests] == ["HEAD", "GET"]


async def test_a_server_error_at_the_probe_does_not_block_the_decision(env):
    client, mend, _, base, _ = env
    resp = await client.post("/mend/decisions", json={"workflow": "w.json", "model": "3/ckpt_name",
                                                      "action": "url", "url": base + "/busy/m.safetensors"})
    body = await resp.json()
    assert resp.status == 200 and body["probe"]["outcome"] == "unconfirmed", body
    assert mend.manifest.resolutions("w.json")["models"]["3/ckpt_name"]["status"] == "pending_download"


async def test_the_search_route_shows_the_probe_of_a_pasted_url(env):
    client, _, _, base, _ = env
    resp = await client.post("/mend/models/search", json={"url": base + "/files/m.safetensors", "folder": "loras"})
    source = (await resp.json())["source"]
    assert source["probe"]["outcome"] == "usable" and source["probe"]["size"] == len(FILE)
    resp = await client.post("/mend/models/search", json={"url": base + "/gone/m.safetensors"})
    assert (await resp.json())["source"]["probe"]["outcome"] == "not_found"


async def test_the_workflows_own_links_are_probed_by_the_search(env):
    client, _, links, base, _ = env
    graph = {"id": "5a1e0000-0000-4000-8000-000000000001", "version": 0.4, "links": [], "nodes": [
        {"id": 1, "type": "LoraLoader", "widgets_values": ["good.safetensors", 1.0, 1.0],
         "properties": {"models": [{"name": "good.safetensors", "directory": "loras",
                                    "url": base + "/files/good.safetensors"}]}},
        {"id": 2, "type": "LoraLoader", "widgets_values": ["locked.safetensors", 1.0, 1.0],
         "properties": {"models": [{"name": "locked.safetensors", "directory": "loras",
                                    "url": base + "/login/locked.safetensors"}]}},
    ]}
    resp = await client.post("/mend/models/search", json={"workflow": graph})
    report = await resp.json()
    assert resp.status == 200, report
    by_name = {m["value"]: m["candidates"] for m in report["missing_models"]}
    good = next(c for c in by_name["good.safetensors"] if c["url"].endswith("/files/good.safetensors"))
    assert good["size"] == len(FILE) and good["probe"]["outcome"] == "usable"
    locked = next(c for c in by_name["locked.safetensors"] if c["url"].endswith("/login/locked.safetensors"))
    assert locked["reason"] == "link_problem" and locked["was"] == "workflow_metadata"
    assert locked["probe"]["outcome"] == "needs_login"
    heads = len(links.requests)
    await client.post("/mend/models/search", json={"workflow": graph})  # the panel renders again
    assert len(links.requests) == heads


def test_probe_outcomes_are_documented():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "http-api.md").read_text(encoding="utf-8")
    for code in ("link_needs_login", "link_not_found", "link_web_page", "link_wrong_kind", "link_unreachable",
                 "link_rejected"):
        assert f"`{code}`" in doc


async def test_a_civitai_page_is_stored_without_asking_its_html(env):
    client, mend, links, _, _ = env
    url = "https://civitai.com/models/12?modelVersionId=3"  # Civitai's API names its file when it downloads
    resp = await client.post("/mend/decisions", json={"workflow": "w.json", "model": "3/ckpt_name",
                                                      "action": "url", "url": url, "path": "m.safetensors"})
    body = await resp.json()
    assert resp.status == 200 and "probe" not in body, body
    assert links.requests == [] and mend.manifest.resolutions("w.json")["models"]["3/ckpt_name"]["url"] == url
