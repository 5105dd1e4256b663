"""Freeze an environment and sync a fresh ComfyUI from it, with real servers: git, registry, Hugging Face.

Environment A gets two packs through the install runner (one cloned from the loopback git server, one
unpacked from the registry-shaped server) and three model files; a workflow uses them and names
their Hugging Face URLs. A is frozen, a fresh empty ComfyUI B is synced from the manifest, and both
must match: the same pack folders at the same commits and versions, the same model files by sha256.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from mend.core.catalog.source_policy import DownloadPolicy
from mend.core.environment.freeze import freeze, render_frozen, write_frozen
from mend.core.environment.sync import finish_sync, load_manifest, plan_sync, start_sync
from mend.core.installed_packs import scan_custom_nodes
from mend.core.resolve.target import target_from_cli

from ..git_server import GitServer, make_pack_repo, node_pack_files
from ..hf_server import FakeHub, safetensors_bytes, served_hub
from ..install_support import (
    PlainContext,
    make_runner,
    registry,  # noqa: F401 (a shared fixture)
)
from ..registry_server import RegistryServer

MODELS = {  # folder/relpath -> hub path
    "checkpoints/base.safetensors": "base.safetensors",
    "loras/style/ink.safetensors": "loras/ink.safetensors",
    "vae/vae.safetensors": "vae.safetensors",
}


def fresh_comfy(root: Path) -> Path:
    for sub in ("checkpoints", "loras", "vae"):
        (root / "models" / sub).mkdir(parents=True)
    (root / "custom_nodes").mkdir()
    (root / "user" / "default").mkdir(parents=True)
    return root


def workflow_using(hub_url: str) -> dict:
    def node(i: int, kind: str, widgets: list) -> dict:
        return {"id": i, "type": kind, "mode": 0, "inputs": [], "outputs": [], "widgets_values": widgets}

    return {
        "last_node_id": 3, "last_link_id": 0, "links": [], "version": 0.4,
        "nodes": [node(1, "CheckpointLoaderSimple", ["base.safetensors"]),
                  node(2, "LoraLoader", ["style/ink.safetensors", 1.0, 1.0]),
                  node(3, "VAELoader", ["vae.safetensors"]),
                  node(4, "AlphaNode", [])],
        "models": [{"name": rel.split("/", 1)[1].rsplit("/", 1)[-1], "directory": rel.split("/", 1)[0],
                    "url": f"{hub_url}/acme/models/resolve/main/{hub_path}"} for rel, hub_path in MODELS.items()],
    }


@pytest.fixture
async def hub(aiohttp_server):
    files = tuple(("acme/models", p, safetensors_bytes(4096 + i * 512, seed=i)) for i, p in enumerate(MODELS.values()))
    return await served_hub(aiohttp_server, files)


@pytest.fixture
async def git_server(aiohttp_server, tmp_path):
    repos = tmp_path / "repos"
    repos.mkdir()
    gs = GitServer(repos)
    server = await aiohttp_server(gs.app())
    gs.repos = repos
    gs.url = lambda name: f"http://127.0.0.1:{server.port}/{name}.git"
    return gs


def mend_over(mend_for, comfyui: Path, catalog: Path, hub: FakeHub, registry: RegistryServer, tmp_path: Path):
    mend = mend_for(comfyui, catalog)
    mend.extras["download_policy"] = DownloadPolicy(hf_endpoint=hub.url, allow_http_loopback=True)
    # packs here need no requirements: pip is never run, so the test's own Python is the target
    mend.extras["install_runner"] = make_runner(mend, python=sys.executable, wheelhouse=tmp_path,
                                                registry_url=registry.base_url)
    return mend


async def build_source_env(mend, hub, git_server, registry) -> dict[str, str]:
    """Environment A: two packs installed the way Mend installs them, three model files on disk."""
    _, shas = make_pack_repo(git_server.repos, "ComfyUI-Alpha", [node_pack_files("AlphaNode"),
                                                                  node_pack_files("AlphaNode", version="1.1.0")])
    registry.publish("comfyui-beta", "1.0.0", node_pack_files("BetaNode", name="comfyui-beta"))
    registry.publish("comfyui-beta", "1.1.0", node_pack_files("BetaNode", name="comfyui-beta", version="1.1.0"))
    runner = mend.extras["install_runner"]
    await runner.run({"repository": git_server.url("ComfyUI-Alpha"), "commit": shas[0]}, PlainContext())
    await runner.run({"id": "comfyui-beta", "version": "1.0.0"}, PlainContext())
    folders = mend.host.model_folders()
    for rel, hub_path in MODELS.items():
        folder, path = rel.split("/", 1)
        target = folders[folder][0] / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(hub.repos["acme/models"].files[hub_path].data)
    return {"alpha": shas[0]}


def pack_state(comfyui: Path) -> dict[str, tuple]:
    return {p.name: (p.commit, p.version, p.cnr_id) for p in scan_custom_nodes(comfyui / "custom_nodes")}


def model_state(mend) -> dict[str, str]:
    index = mend.analyzer.model_index()
    return {f"{f.folder}/{f.relpath}": mend.hashes.digest(f.path) for f in index.files}


async def test_round_trip_freeze_then_sync_fresh_comfyui(tmp_path, comfy_dir, small_catalog, mend_for, hub,
                                                         git_server, registry):
    mend_a = mend_over(mend_for, comfy_dir, small_catalog, hub, registry, tmp_path)
    pins = await build_source_env(mend_a, hub, git_server, registry)
    workflow = comfy_dir / "user" / "default" / "workflows" / "portrait.json"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(json.dumps(workflow_using(hub.url)))

    frozen = await freeze(mend_a, [target_from_cli(mend_a.host, workflow)])
    manifest = tmp_path / "lock" / "manifest.toml"
    manifest.parent.mkdir()
    write_frozen(frozen, manifest)

    assert {p.id: (p.source, p.commit, p.version) for p in frozen.packs} == {
        "ComfyUI-Alpha": ("git", pins["alpha"], None), "comfyui-beta": ("registry", None, "1.0.0")}
    assert sorted(m.key for m in frozen.models) == sorted(MODELS)
    assert all(m.sources and m.sources[0].startswith(hub.url) for m in frozen.models)
    assert not frozen.missing and not frozen.unknown_packs
    text = manifest.read_text()
    assert pins["alpha"] in text and "[tool.mend.models" in text and render_frozen(frozen).count("sha256") == 3

    comfy_b = fresh_comfy(tmp_path / "B" / "ComfyUI")
    mend_b = mend_over(mend_for, comfy_b, small_catalog, hub, registry, tmp_path)
    plan = await plan_sync(mend_b, load_manifest(manifest))
    assert sorted(i.action for i in plan.items) == ["download"] * 3 + ["install"] * 2
    assert plan.bytes_to_fetch == sum(m.size for m in frozen.models)
    await start_sync(mend_b, plan)
    await finish_sync(mend_b, plan)
    assert plan.ok, plan.to_json()
    assert pack_state(comfy_b) == pack_state(comfy_dir)
    assert model_state(mend_b) == model_state(mend_a)
    assert mend_b.manifest.packs()["ComfyUI-Alpha"]["commit"] == pins["alpha"]  # the install recorded it

    sent = dict(hub.sent)
    requests = len(hub.requests)
    again = await plan_sync(mend_b, load_manifest(manifest))
    assert {i.action for i in again.items} == {"present"}
    assert await start_sync(mend_b, again) == []
    assert dict(hub.sent) == sent and len(hub.requests) == requests  # the second sync fetched nothing
    await mend_b.close()
    await mend_a.close()
