"""Catalogs from the public channel (cached, max age, ETag, offline), Manager's copy; registry look-ups."""

from __future__ import annotations

import json
import os
import time

import pytest
from aiohttp import web

from mend.core.catalog.registry import RegistryClient
from mend.core.catalog.store import ALL_FILES, NODE_MAP, CatalogStore
from mend.core.host_standalone import StandaloneHost
from mend.core.resolve.analyze import Analyzer


@pytest.fixture
async def channel(aiohttp_server, small_catalog):
    """A loopback stand-in for Manager's channel that counts requests and honours If-None-Match."""
    hits: list[tuple[str, str | None]] = []

    async def serve(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        hits.append((name, request.headers.get("If-None-Match")))
        if state["broken"]:
            return web.Response(status=503)
        body = (small_catalog / name).read_bytes()
        etag = f'"{len(body)}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304)
        return web.Response(body=body, headers={"ETag": etag}, content_type="application/json")

    state = {"broken": False}
    app = web.Application()
    app.router.add_get("/{name}", serve)
    server = await aiohttp_server(app)
    server.hits, server.state = hits, state
    return server


def store_for(tmp_path, server, **kw) -> CatalogStore:
    kw.setdefault("registry", RegistryClient(""))
    return CatalogStore(cache_dir=tmp_path / "cache", channel_url=str(server.make_url("")).rstrip("/"),
                        offline=False, **kw)


async def test_fetch_cache_and_revalidate(tmp_path, channel):
    store = store_for(tmp_path, channel, max_age=3600)
    assert sorted(await store.refresh()) == sorted(ALL_FILES)
    assert store.node_map().pack_by_id("comfyui-alpha").title == "Alpha"
    assert await store.refresh() == []  # fresh: no request at all
    assert len(channel.hits) == len(ALL_FILES)
    old = time.time() - 7200
    os.utime(store.cache_dir / NODE_MAP, (old, old))
    assert await store.refresh() == []  # stale, but the server says 304 Not Modified
    assert channel.hits[-1][1] is not None
    assert time.time() - (store.cache_dir / NODE_MAP).stat().st_mtime < 60


async def test_offline_or_failing_channel_uses_stale_cache_then_manager_copy(tmp_path, channel, small_catalog):
    store = store_for(tmp_path, channel, max_age=0)
    await store.refresh()
    channel.state["broken"] = True
    again = store_for(tmp_path, channel, max_age=0)
    assert await again.refresh() == []
    assert again.node_map().pack_by_id("comfyui-alpha") is not None  # the stale cache serves

    manager = tmp_path / "custom_nodes" / "ComfyUI-Manager"
    manager.mkdir(parents=True)
    (manager / NODE_MAP).write_bytes((small_catalog / NODE_MAP).read_bytes())
    fresh = CatalogStore(cache_dir=tmp_path / "empty-cache", manager_dirs=[manager], offline=True)
    assert await fresh.refresh() == []
    assert fresh.node_map().pack_by_url("https://github.com/alice/ComfyUI-Alpha") is not None


def test_the_pip_managers_hashed_cache_is_read(tmp_path, small_catalog):
    """ComfyUI 0.8's ``--enable-manager`` keeps its catalogs as ``user/__manager/cache/<hash>_<file>``."""
    from mend.core.catalog.store import manager_dirs

    cache = tmp_path / "user" / "__manager" / "cache"
    cache.mkdir(parents=True)
    (cache / f"1514988643_{NODE_MAP}").write_bytes((small_catalog / NODE_MAP).read_bytes())
    dirs = manager_dirs([tmp_path / "custom_nodes"], tmp_path / "user")
    store = CatalogStore(cache_dir=tmp_path / "mend-cache", manager_dirs=dirs, offline=True,
                         registry=RegistryClient(""))
    assert store.path_of(NODE_MAP) == cache / f"1514988643_{NODE_MAP}"
    assert store.node_map().pack_by_url("https://github.com/alice/ComfyUI-Alpha") is not None


async def test_broken_documents_are_never_cached(tmp_path, aiohttp_server):
    async def truncated(request: web.Request) -> web.Response:
        return web.Response(text="{truncated")

    app = web.Application()
    app.router.add_get("/{name}", truncated)
    server = await aiohttp_server(app)
    store = store_for(tmp_path, server)
    assert await store.refresh() == []
    assert not (store.cache_dir / NODE_MAP).exists()


@pytest.fixture
async def registry(aiohttp_server):
    seen: list[str] = []

    async def node(request: web.Request) -> web.Response:
        seen.append(request.path)
        if request.match_info["name"] == "RegNode":
            return web.json_response({"id": "reg-pack", "name": "Reg Pack", "repository": "https://github.com/r/RegPack",
                                      "github_stars": 7})
        return web.json_response({"message": "not found"}, status=404)

    async def anything_else(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.Response(status=500)

    app = web.Application()
    app.router.add_get("/comfy-nodes/{name}/node", node)
    app.router.add_route("*", "/{tail:.*}", anything_else)
    server = await aiohttp_server(app)
    server.seen = seen
    return server


async def test_registry_fills_in_types_the_map_does_not_know(comfy_dir, small_catalog, registry):
    client = RegistryClient(str(registry.make_url("")).rstrip("/"))
    analyzer = Analyzer(StandaloneHost(comfy_dir), CatalogStore(catalog_dir=small_catalog), registry=client)
    report = await analyzer.analyze({"1": {"class_type": "RegNode", "inputs": {}},
                                     "2": {"class_type": "Unheard", "inputs": {}},
                                     "3": {"class_type": "AlphaNode", "inputs": {}}})
    by_type = {n.type: n for n in report.missing_nodes}
    top = by_type["RegNode"].candidates[0]
    assert (top.reason, top.pack.id, top.pack.repository) == ("registry", "reg-pack", "https://github.com/r/regpack")
    assert by_type["Unheard"].candidates == []
    # only unknown types are looked up, and never through an install endpoint
    assert sorted(registry.seen) == ["/comfy-nodes/RegNode/node", "/comfy-nodes/Unheard/node"]


async def test_unreachable_registry_does_not_fail_analysis(comfy_dir, small_catalog, unused_tcp_port):
    client = RegistryClient(f"http://127.0.0.1:{unused_tcp_port}", timeout=2)
    analyzer = Analyzer(StandaloneHost(comfy_dir), CatalogStore(catalog_dir=small_catalog), registry=client)
    report = await analyzer.analyze({"1": {"class_type": "Unheard", "inputs": {}}})
    assert report.missing_nodes[0].candidates == []


def test_catalog_json_shape_errors_are_ignored(tmp_path):
    (tmp_path / NODE_MAP).write_text(json.dumps(["not", "a", "map"]))
    assert len(CatalogStore(catalog_dir=tmp_path).node_map()) == 0
