"""``POST /mend/progress/follow`` and ``GET /mend/progress.js`` over HTTP, against a server-shaped object."""

from __future__ import annotations

import types

from aiohttp import web

from mend.core import progress_recipients
from mend.server_routes import progress


async def client_for(aiohttp_client, sockets: dict):
    server = types.SimpleNamespace(sockets=sockets)
    app = web.Application()
    app.add_routes(progress.routes(server))
    return server, await aiohttp_client(app)


async def test_a_connected_socket_follows_and_unfollows(aiohttp_client):
    server, http = await client_for(aiohttp_client, {"tab-1": object()})
    r = await http.post("/mend/progress/follow", json={"client_id": "tab-1", "all": True})
    assert (r.status, await r.json()) == (200, {"client_id": "tab-1", "all": True})
    assert progress_recipients.followers(server, besides=None) == ["tab-1"]
    r = await http.post("/mend/progress/follow", json={"client_id": "tab-1", "all": False})
    assert r.status == 200 and progress_recipients.followers(server, besides=None) == []


async def test_bad_requests_are_named_4xx_and_change_nothing(aiohttp_client):
    server, http = await client_for(aiohttp_client, {"tab-1": object()})
    cases = [
        ({"json": {"client_id": "gone", "all": True}}, 404, "client_id"),
        ({"json": {"client_id": "", "all": True}}, 400, "client_id"),
        ({"json": {"client_id": "tab-1", "all": "yes"}}, 400, "all"),
        ({"json": ["tab-1"]}, 400, "body"),
        ({"data": "client_id=tab-1", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415, None),
    ]
    for kwargs, status, field in cases:
        r = await http.post("/mend/progress/follow", **kwargs)
        body = await r.json()
        assert r.status == status and body["error"]["code"], (kwargs, body)
        if field:
            assert body["error"]["field"] == field
    assert progress_recipients.followers(server, besides=None) == []


async def test_the_browser_helper_has_a_fixed_address(aiohttp_client):
    _server, http = await client_for(aiohttp_client, {})
    r = await http.get("/mend/progress.js")
    assert r.status == 200 and r.content_type == "text/javascript"
    assert "export function onOwnProgressText" in await r.text()
