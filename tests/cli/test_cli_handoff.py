"""``mend resolve`` beside a running Mend server on the same state: the work is queued on the server over
HTTP and followed with the same bars; alone it runs here; a busy state with no address is a clear error."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from aiohttp import web

from mend.cli import build_parser
from mend.cli import resolve as cli_resolve
from mend.core import constants
from mend.core.catalog.registry import RegistryClient
from mend.core.catalog.source_policy import DownloadPolicy
from mend.core.catalog.store import CatalogStore
from mend.core.decide.manifest import Manifest
from mend.core.errors import BadRequest
from mend.core.host_standalone import StandaloneHost
from mend.core.server_beacon import local_url, owner, write_beacon
from mend.core.services import Mend
from mend.server_routes import setup

from ..hf_server import Fault, safetensors_bytes, served_hub

DATA = safetensors_bytes(200_000, seed=8)


def never_asked(question):
    raise AssertionError(f"asked {question.item.ref}")


def workflow(tmp_path: Path, url: str) -> Path:
    meta = [{"name": "ink.safetensors", "url": url, "directory": "loras"}]
    wf = tmp_path / "two.json"
    wf.write_text(json.dumps({"version": 0.4, "links": [], "nodes": [
        {"id": n, "type": "LoraLoader", "widgets_values": ["ink.safetensors", 1.0, 1.0],
         "properties": {"models": meta}} for n in (1, 2)]}))
    return wf


@pytest.fixture
async def hub(aiohttp_server, monkeypatch):
    hub = await served_hub(aiohttp_server, (("acme/loras", "ink.safetensors", DATA),))
    monkeypatch.setenv("HF_ENDPOINT", hub.url)  # the CLI's side judges the sources it decides on too
    monkeypatch.setattr(constants, "TEST_ALLOW_HTTP_LOOPBACK", True)
    return hub


@pytest.fixture
async def server(aiohttp_server, comfy_dir, small_catalog, tmp_path, hub):
    """A Mend server over the same ComfyUI and state, as ComfyUI mounts it: it owns the journal and says where."""
    state = tmp_path / "state"
    mend = Mend.create(StandaloneHost(comfy_dir), catalogs=CatalogStore(catalog_dir=small_catalog),
                       registry=RegistryClient(""), manifest_path=state / "pyproject.toml",
                       cache_dir=tmp_path / "cache")
    mend.extras["download_policy"] = DownloadPolicy(hf_endpoint=hub.url, allow_http_loopback=True)
    app = web.Application()
    setup(app, mend)
    served = await aiohttp_server(app)
    await mend.start()
    write_beacon(state, str(served.make_url("")).rstrip("/"))
    mend.served = served
    return mend


def argv(wf: Path, comfy_dir: Path, catalog: Path, manifest: Path, *extra: str) -> list[str]:
    return ["resolve", str(wf), "--comfyui", str(comfy_dir), "--catalog-dir", str(catalog), "--manifest",
            str(manifest), "--no-registry", "--yes", *extra]


async def test_resolve_hands_its_download_to_the_server_and_follows_it(server, hub, comfy_dir, small_catalog,
                                                                       tmp_path, capsys):
    url = f"{hub.url}/acme/loras/resolve/main/ink.safetensors"
    wf = workflow(tmp_path, url)
    manifest = server.manifest_path
    code = await cli_resolve.run(build_parser().parse_args(argv(wf, comfy_dir, small_catalog, manifest)),
                                 ask=never_asked)
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert (f"mode: server — handing installs and downloads to the Mend server at {server.served.make_url('')}"
            .rstrip("/")) in out.out and f"it owns {manifest.parent}" in out.out
    bar = out.err.rsplit("\r", 1)[-1]  # the same bar as a local run: bytes, rate, verdict
    assert bar.startswith("download …") and "loras/ink.safetensors: 100%" in bar and "195k/195k" in bar
    assert "done" in bar
    assert (comfy_dir / "models" / "loras" / "ink.safetensors").read_bytes() == DATA
    tasks = await server.tasks.list(kind="download")  # the server ran it: its panel lists it
    assert [t.state for t in tasks] == ["completed"] and tasks[0].target.endswith("loras/ink.safetensors")
    assert len([r for r in hub.requests if r[0] == "GET" and r[1].endswith("/ink.safetensors")]) == 1
    resolved = Manifest(manifest, autofold=False).resolutions(str(wf))["models"]
    assert {k: v["status"] for k, v in resolved.items()} == {"1/lora_name": "resolved", "2/lora_name": "resolved"}
    for entry in resolved.values():  # the decision as it was made, only its status changed
        assert entry["value"] == "ink.safetensors" and entry["source"] and entry["url"] == url


async def test_a_decided_file_already_on_disk_is_settled_not_handed_off(server, hub, comfy_dir, small_catalog,
                                                                        tmp_path, capsys):
    url = f"{hub.url}/acme/loras/resolve/main/ink.safetensors"
    wf = workflow(tmp_path, url)
    manifest = server.manifest_path
    args = argv(wf, comfy_dir, small_catalog, manifest)
    await cli_resolve.run(build_parser().parse_args([*args, "--no-fetch"]), ask=never_asked)
    assert "1 to install or download" in capsys.readouterr().out
    (comfy_dir / "models" / "loras" / "ink.safetensors").write_bytes(DATA)  # fetched meanwhile, some other way

    code = await cli_resolve.run(build_parser().parse_args(args), ask=never_asked)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 to install or download" in out
    assert await server.tasks.list(kind="download") == []  # no second row in the panel for a file that is there
    resolved = Manifest(manifest, autofold=False).resolutions(str(wf))["models"]
    assert [(v["status"], v["value"], v["url"]) for v in resolved.values()] == [
        ("resolved", "ink.safetensors", url)] * 2


async def test_a_download_the_server_already_runs_is_followed_not_started_twice(server, hub, comfy_dir,
                                                                                small_catalog, tmp_path, capsys):
    hub.faults.append(Fault("ink.safetensors", "trickle", delay=0.05))  # the server's download still runs
    url = f"{hub.url}/acme/loras/resolve/main/ink.safetensors"
    first = await server.tasks.submit("download", {"url": url, "folder": "loras", "relpath": "ink.safetensors"})
    wf = workflow(tmp_path, url)
    code = await cli_resolve.run(build_parser().parse_args(argv(wf, comfy_dir, small_catalog,
                                                                server.manifest_path)), ask=never_asked)
    assert code == 0, capsys.readouterr()
    assert [t.id for t in await server.tasks.list(kind="download")] == [first.id]


async def test_alone_it_says_so_and_a_busy_state_without_address_is_refused(comfy_dir, small_catalog, tmp_path,
                                                                            hub, capsys):
    url = f"{hub.url}/acme/loras/resolve/main/ink.safetensors"
    manifest = tmp_path / "state" / "pyproject.toml"
    wf = workflow(tmp_path, url)
    assert await cli_resolve.run(build_parser().parse_args(argv(wf, comfy_dir, small_catalog, manifest)),
                                 ask=never_asked) == 0
    assert f"mode: standalone — no Mend server owns {manifest.parent}" in capsys.readouterr().out

    # another process holds the journal and left no beacon (an older Mend, a CLI sync): say what to do
    other = Mend.create(StandaloneHost(comfy_dir), catalogs=CatalogStore(catalog_dir=small_catalog),
                        registry=RegistryClient(""), manifest_path=manifest, cache_dir=tmp_path / "cache")
    await other.start()
    try:
        assert owner(manifest.parent) == ""
        (comfy_dir / "models" / "loras" / "ink.safetensors").unlink()
        (tmp_path / "again").mkdir()
        wf = workflow(tmp_path / "again", url)  # another workflow id: nothing decided for it yet
        with pytest.raises(BadRequest, match=r"did not say where it listens: pass its ComfyUI's address with "
                                             r"--server URL"):
            await cli_resolve.run(build_parser().parse_args(argv(wf, comfy_dir, small_catalog, manifest)),
                                  ask=never_asked)
    finally:
        await other.close()


def test_local_url_of_a_listen_address():
    assert local_url("127.0.0.1", 8188) == "http://127.0.0.1:8188"
    assert local_url("0.0.0.0,::", 8188) == "http://127.0.0.1:8188"
    assert local_url("::", 8443, tls=True) == "https://[::1]:8443"


async def test_sync_beside_the_server_runs_there(server, hub, comfy_dir, small_catalog, tmp_path, capsys):
    import hashlib

    from mend.cli import main

    url = f"{hub.url}/acme/loras/resolve/main/ink.safetensors"
    lock = tmp_path / "lock.toml"
    lock.write_text(f"""[tool.mend.models."loras/synced.safetensors"]
folder = "loras"
path = "synced.safetensors"
size = {len(DATA)}
sha256 = "{hashlib.sha256(DATA).hexdigest()}"
sources = ["{url}"]
""")
    code = await asyncio.to_thread(main, ["sync", str(lock), "--comfyui", str(comfy_dir), "--catalog-dir",
                                          str(small_catalog), "--manifest", str(server.manifest_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "mode: server — handing installs and downloads to the Mend server" in out and "OK:" in out
    assert (comfy_dir / "models" / "loras" / "synced.safetensors").read_bytes() == DATA
    assert [t.state for t in await server.tasks.list(kind="sync_model")] == ["completed"]
