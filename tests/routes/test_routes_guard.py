"""Web pages cannot reach Mend: foreign ``Origin`` and DNS-rebinding ``Host`` refused on every route.

Over HTTP against the real routes: each request carries the headers a browser would send; a refused
one is a 403 with a named code and starts nothing (no task, no manifest, no restart).
"""

from __future__ import annotations

import pytest
from aiohttp import web

from mend.core import constants
from mend.server_routes import route_defs, setup

EVIL = "https://evil.example"
#: every state-changing route with a body that would otherwise be acted on (or at least parsed)
STATE_CHANGING = [
    ("/mend/nodes/install", {"repository": "https://github.com/alice/ComfyUI-Alpha"}),
    ("/mend/restart", {}),
    ("/mend/models/download", {"url": "https://huggingface.co/a/b/resolve/main/x.safetensors", "folder": "loras"}),
    ("/mend/manifest/sync", {"dry_run": False}),
    ("/mend/decisions", {"workflow": "x.json", "node_type": "AlphaNode", "action": "skip"}),
    ("/mend/analyze", {"nodes": []}),
    ("/mend/models/search", {"filename": "x.safetensors"}),
    ("/mend/tasks/abc/cancel", {}),
    ("/mend/tasks/abc/retry", {}),
    ("/mend/tasks/abc/resume", {}),
]


@pytest.fixture
def restarts():
    return []


@pytest.fixture
async def mend(comfy_dir, small_catalog, mend_for, restarts):
    m = mend_for(comfy_dir, small_catalog)
    m.extras["restart_execv"] = lambda *a: restarts.append(a)
    return m


@pytest.fixture
async def client(aiohttp_client, mend):
    app = web.Application()
    setup(app, mend)
    return await aiohttp_client(app)


def own_origin(client) -> str:
    return f"http://127.0.0.1:{client.port}"


async def nothing_started(mend, restarts) -> None:
    assert await mend.tasks.list() == []
    assert not mend.manifest_path.exists()
    assert restarts == []


def test_every_route_is_guarded(mend):
    """No Mend route is served without the guard (``route_defs`` wraps them all)."""
    for rd in route_defs(mend):
        assert getattr(rd.handler, "mend_guard", None) is not None, rd.path


@pytest.mark.parametrize(("path", "body"), STATE_CHANGING)
@pytest.mark.parametrize("cors", [None, "*", EVIL])
async def test_foreign_origin_is_refused_whatever_cors_says(client, mend, restarts, path, body, cors):
    mend.extras["cors_origin"] = cors  # ComfyUI started without, with --enable-cors-header, or naming evil
    resp = await client.post(path, json=body, headers={"Origin": EVIL})
    assert resp.status == 403
    error = (await resp.json())["error"]
    assert error["code"] == "cross_origin" and error["field"] == "Origin"
    await nothing_started(mend, restarts)


@pytest.mark.parametrize("origin", ["null", "http://127.0.0.1:1", "http://localhost", "file://", "http://127.0.0.1:x"])
async def test_other_origins_of_this_machine_are_foreign_too(client, mend, restarts, origin):
    resp = await client.post("/mend/restart", json={}, headers={"Origin": origin})
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "cross_origin"
    await nothing_started(mend, restarts)


async def test_dns_rebinding_is_refused_while_listening_on_loopback(client, mend, restarts):
    mend.host.listen_addresses = lambda: ["127.0.0.1"]
    rebound = {"Host": "evil.example:8301", "Origin": "http://evil.example:8301"}
    for path, body in STATE_CHANGING[:4]:
        resp = await client.post(path, json=body, headers=rebound)
        assert resp.status == 403, path
        assert (await resp.json())["error"] == {
            "code": "untrusted_host", "field": "Host", "message": (await resp.json())["error"]["message"]}
    resp = await client.get("/mend/tasks", headers={"Host": "evil.example:8301"})  # reads too: the manifest is private
    assert resp.status == 403
    await nothing_started(mend, restarts)


@pytest.mark.parametrize("host", ["localhost:8188", "127.0.0.1:8188", "[::1]:8188", "app.localhost:8188",
                                  "127.0.0.2", "LOCALHOST:8188"])
async def test_loopback_names_pass(client, mend, host):
    mend.host.listen_addresses = lambda: ["127.0.0.1"]
    resp = await client.get("/mend/tasks", headers={"Host": host, "Origin": f"http://{host}"})
    assert resp.status == 200


async def test_operator_switches(client, mend, restarts, monkeypatch):
    mend.host.listen_addresses = lambda: ["127.0.0.1"]
    monkeypatch.setattr(constants, "ALLOWED_HOSTS", ("comfy.lan",))
    resp = await client.get("/mend/tasks", headers={"Host": "comfy.lan:8188", "Origin": "http://comfy.lan:8188"})
    assert resp.status == 200
    monkeypatch.setattr(constants, "TRUSTED_ORIGINS", ("https://app.example",))
    resp = await client.post("/mend/tasks/abc/cancel", json={}, headers={"Origin": "https://app.example"})
    assert resp.status == 404  # past the guard: the task is unknown


async def test_listening_on_all_addresses_does_not_check_names(client, mend):
    mend.host.listen_addresses = lambda: ["0.0.0.0"]
    resp = await client.get("/mend/tasks", headers={"Host": "192.168.1.5:8188", "Origin": "http://192.168.1.5:8188"})
    assert resp.status == 200
    resp = await client.post("/mend/tasks/abc/cancel", json={}, headers={"Host": "192.168.1.5:8188", "Origin": EVIL})
    assert resp.status == 403


async def test_reads_follow_comfyuis_cors_setting(client, mend):
    assert (await client.get("/mend/tasks", headers={"Origin": EVIL})).status == 403
    mend.extras["cors_origin"] = "*"
    assert (await client.get("/mend/tasks", headers={"Origin": EVIL})).status == 200


async def test_the_editors_own_requests_pass(client, mend):
    """Same origin (the editor served by this server), and no Origin at all (curl, the CLI)."""
    mend.host.listen_addresses = lambda: ["127.0.0.1"]
    for headers in ({"Origin": own_origin(client)}, {}):
        resp = await client.post("/mend/analyze", json={"nodes": []}, headers=headers)
        assert resp.status == 200
        resp = await client.post("/mend/tasks/abc/cancel", json={}, headers=headers)
        assert resp.status == 404
