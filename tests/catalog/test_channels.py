"""ComfyUI-Manager's dev and legacy channels as optional catalogs: where they are found, fetched, cached, reported.

``tests/fixtures/manager_channels`` holds entries copied verbatim from Manager's ``node_db/dev/`` and
``node_db/legacy/`` at the shared catalog's commit (f39cbd5): two packs in development and four retired
packs (deprecated, not maintained, a name conflict, an unsafe one).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from aiohttp import web

from mend.core.catalog.channels import record_legacy
from mend.core.catalog.provenance import catalog_warnings
from mend.core.catalog.registry import RegistryClient
from mend.core.catalog.store import ALL_FILES, OPTIONAL_FILES, CatalogStore

from ..conftest import FIXTURES, shared_path

CHANNELS = FIXTURES / "manager_channels"
TRELLIS2 = "https://github.com/pozzettiandrea/comfyui-trellis2"
WAS = "https://github.com/wasasquatch/was-node-suite-comfyui"


def with_channels(directory: Path, default: Path) -> Path:
    """A catalog folder in Manager's layout: the default files at the top, the channels under ``node_db/``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ALL_FILES:
        if (default / name).is_file():
            (directory / name).symlink_to(default / name)
    shutil.copytree(CHANNELS / "node_db", directory / "node_db")
    return directory


def test_a_catalog_folder_holds_the_channels_in_managers_layout(tmp_path):
    store = CatalogStore(catalog_dir=with_channels(tmp_path / "cat", shared_path("catalog")),
                         registry=RegistryClient(""))
    by_name = {s.name: s for s in store.provenance()}
    assert set(OPTIONAL_FILES) <= set(by_name)
    assert all(by_name[name].source == "pinned" for name in OPTIONAL_FILES)
    node_map = store.node_map()
    assert node_map.dev is not None and node_map.dev.pack_at(TRELLIS2).channel == "dev"
    assert node_map.replaced[WAS].repository == "https://github.com/ltdrdata/was-node-suite-comfyui"


def test_the_dev_map_is_built_once_and_only_when_first_asked_for(tmp_path, monkeypatch):
    import mend.core.catalog.store as store_module

    built = []
    real = store_module.attach_dev
    monkeypatch.setattr(store_module, "attach_dev", lambda nm, dev: built.append(dev) or real(nm, dev))
    store = CatalogStore(catalog_dir=with_channels(tmp_path / "cat", shared_path("catalog")),
                         registry=RegistryClient(""))
    node_map = store.node_map()
    assert built == []  # an analysis whose types the default channel lists never pays for it
    assert node_map.dev.pack_at(TRELLIS2) is not None and node_map.dev is built[0]
    assert len(built) == 1


def test_a_missing_channel_is_listed_missing_but_is_no_warning(small_catalog):
    store = CatalogStore(catalog_dir=small_catalog, registry=RegistryClient(""))
    statuses = store.provenance()
    missing = {s.name: s.reason for s in statuses if s.source == "missing"}
    assert set(OPTIONAL_FILES) <= set(missing)
    assert "not in the catalog folder" in missing[OPTIONAL_FILES[0]]
    assert catalog_warnings(statuses) == []  # the default channel is all there
    assert store.node_map().dev is None and store.node_map().replaced == {}


@pytest.fixture
async def channel(aiohttp_server, small_catalog):
    """Manager's channel with its ``node_db/`` folders; ``served`` says which channels it has."""
    hits: list[str] = []

    async def serve(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        hits.append(name)
        for root in (small_catalog, CHANNELS):
            if name.split("/")[1:2] in ([], *[[c] for c in served]) and (root / name).is_file():
                return web.Response(body=(root / name).read_bytes(), content_type="application/json")
        return web.Response(status=404)

    served = {"dev", "legacy"}
    app = web.Application()
    app.router.add_get("/{name:.+}", serve)
    server = await aiohttp_server(app)
    server.hits, server.served = hits, served
    return server


def store_for(tmp_path: Path, server, **kw) -> CatalogStore:
    return CatalogStore(cache_dir=tmp_path / "cache", channel_url=str(server.make_url("")).rstrip("/"),
                        offline=False, registry=RegistryClient(""), **kw)


async def test_channels_are_fetched_from_the_default_base_and_cached(tmp_path, channel):
    store = store_for(tmp_path, channel, max_age=3600)
    changed = await store.refresh()
    assert sorted(changed) == sorted((*ALL_FILES, *OPTIONAL_FILES))
    assert "node_db/dev/extension-node-map.json" in channel.hits
    for name in OPTIONAL_FILES:
        assert (store.cache_dir / name).is_file()
        assert store.status(name).source == "cache"
    assert store.node_map().dev.pack_at(TRELLIS2) is not None
    assert await store.refresh() == []  # fresh: not asked again


async def test_a_channel_the_server_lacks_is_missing_without_a_warning(tmp_path, channel):
    channel.served.clear()
    store = store_for(tmp_path, channel)
    changed = await store.refresh()
    assert sorted(changed) == sorted(ALL_FILES)
    statuses = store.provenance()
    reasons = {s.name: s.reason for s in statuses if s.source == "missing"}
    assert "HTTP 404" in reasons["node_db/legacy/custom-node-list.json"]
    assert catalog_warnings(statuses) == []


def test_an_installed_managers_checkout_gives_its_channels(tmp_path, small_catalog):
    manager = tmp_path / "custom_nodes" / "ComfyUI-Manager"
    shutil.copytree(CHANNELS / "node_db", manager / "node_db")
    for name in ALL_FILES:
        shutil.copy(small_catalog / name, manager / name)
    store = CatalogStore(cache_dir=tmp_path / "empty", manager_dirs=[manager], offline=True,
                         registry=RegistryClient(""))
    assert store.status("node_db/dev/extension-node-map.json").source == "manager"
    assert store.node_map().dev.pack_at(TRELLIS2) is not None


def test_only_deprecated_packs_are_replaced_never_removed_or_conflicting_ones(tmp_path):
    """Legacy lists ``wxytjustb/ComfyUI-CustomNodes [NAME CONFLICT] [REMOVED]`` and ``joe002/comfyui-rtx-remix
    [UNSAFE/REMOVED]``: same repository names as listed packs of other projects, so no replacement."""
    node_map = CatalogStore(catalog_dir=with_channels(tmp_path / "cat", shared_path("catalog")),
                            registry=RegistryClient("")).node_map()
    assert {url.removeprefix("https://github.com/") for url in node_map.replaced} == {
        "wasasquatch/was-node-suite-comfyui", "neuratech-ai/comfyui-multigpu"}
    assert node_map.replaced["https://github.com/neuratech-ai/comfyui-multigpu"].repository.endswith(
        "pollockjj/comfyui-multigpu")
    assert node_map.legacy["https://github.com/joe002/comfyui-rtx-remix"].title == "comfyui-rtx-remix [UNSAFE/REMOVED]"
    assert record_legacy(node_map, []) == 0
