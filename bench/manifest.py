"""Decision latency on a large manifest (500 models, 200 packs): durable on disk, and visible in the TOML.

    python bench/manifest.py

Prints p50/p95 of (1) ``Manifest.write`` of one decision until it is fsynced (the decision log),
(2) ``POST /mend/decisions`` over a real loopback HTTP server until the answer (the handler answers
only once the decision is durable; it includes re-analysing the workflow and rewriting its file),
and the delay until the ``pyproject.toml`` itself shows each decision, one at a time and in a burst.
Bars: durable p95 under 15 ms, visible in the TOML under 1 s.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from mend.core.catalog.registry import RegistryClient
from mend.core.catalog.store import CatalogStore
from mend.core.decide.manifest import Manifest, set_op
from mend.core.host_standalone import StandaloneHost
from mend.core.services import Mend
from mend.server_routes import setup

MODELS, PACKS, REFS = 500, 200, 120


def pct(values: list[float], p: float) -> float:
    return sorted(values)[min(len(values) - 1, round(p / 100 * (len(values) - 1)))] * 1000


def line(name: str, values: list[float], bar: str) -> None:
    print(f"{name:<52} p50 {pct(values, 50):7.2f} ms  p95 {pct(values, 95):7.2f} ms  max "
          f"{max(values) * 1000:7.1f} ms  (n={len(values)}; bar: {bar})")


def big_manifest(path: Path) -> None:
    m = Manifest(path, autofold=False)
    ops = [set_op("models", f"loras/sub/m{i}.safetensors", value={
        "folder": "loras", "path": f"sub/m{i}.safetensors", "size": 123_456_789 + i, "sha256": f"{i:064x}",
        "sources": [f"https://huggingface.co/acme/m{i}/resolve/main/m{i}.safetensors"]}) for i in range(MODELS)]
    ops += [set_op("packs", f"pack-{i}", value={"source": "git", "repository": f"https://github.com/a/pack-{i}",
                                                  "commit": f"{i:040x}"}) for i in range(PACKS)]
    m.write(ops)
    m.flush()


def wait_visible(path: Path, needle: str, started: float) -> float:
    while needle not in path.read_text(encoding="utf-8"):
        time.sleep(0.002)
    return time.perf_counter() - started


def bench_write(root: Path) -> None:
    path = root / "direct" / "pyproject.toml"
    big_manifest(path)
    print(f"manifest: {path.stat().st_size // 1024} KiB, {MODELS} models, {PACKS} packs")
    m = Manifest(path)
    m.packs()  # first read parses the TOML once
    m.warm()  # as the server does at start: the fold's tomlkit document is parsed in the background
    time.sleep(3)
    durable, visible = [], []
    for i in range(60):
        t = time.perf_counter()
        m.write([set_op("workflows", "bench.json", "nodes", f"Type{i}", value=f"pack-{i % PACKS}")])
        durable.append(time.perf_counter() - t)
        if i % 6 == 0:  # one at a time: how soon does the TOML show it?
            visible.append(wait_visible(path, f"Type{i} = ", t))
    line("Manifest.write: decision durable", durable, "p95 < 15 ms")
    line("Manifest.write: decision visible in the TOML", visible, "< 1000 ms")
    t = time.perf_counter()
    for i in range(200):
        m.write([set_op("workflows", "burst.json", "nodes", f"Burst{i}", value="pack-1")])
    burst_written = time.perf_counter() - t
    last = wait_visible(path, "Burst199 = ", t)
    print(f"{'burst of 200 decisions: written / last visible':<52} {burst_written * 1000:7.1f} ms / "
          f"{last * 1000:7.1f} ms")
    m.close()


async def bench_route(root: Path) -> None:
    comfy = root / "ComfyUI"
    for sub in ("loras", "checkpoints"):
        (comfy / "models" / sub).mkdir(parents=True)
    (comfy / "custom_nodes").mkdir()
    workflows = comfy / "user" / "default" / "workflows"
    workflows.mkdir(parents=True)
    catalog = root / "catalog"
    catalog.mkdir()
    for name, data in {"extension-node-map.json": {}, "custom-node-list.json": {"custom_nodes": []},
                       "github-stats.json": {}, "model-list.json": {"models": []}}.items():
        (catalog / name).write_text(json.dumps(data))
    wf = {str(i): {"class_type": "LoraLoader", "inputs": {"lora_name": f"missing_{i}.safetensors",
                                                          "strength_model": 1.0, "strength_clip": 1.0}}
          for i in range(REFS)}
    (workflows / "bench.json").write_text(json.dumps(wf, indent=2))
    host = StandaloneHost(comfy)
    mend = Mend.create(host, catalogs=CatalogStore(catalog_dir=catalog, cache_dir=root / "cache"),
                       registry=RegistryClient(""), cache_dir=root / "cache")
    big_manifest(mend.manifest_path)
    app = web.Application()
    setup(app, mend)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}/mend/decisions"
    rewrite, optional = [], []
    async with aiohttp.ClientSession() as session:
        for i in range(REFS):
            body = {"workflow": "bench.json", "model": f"{i}/lora_name", "registry": False}
            if i % 2:
                body.update(action="optional")
            else:
                body.update(action="url", url=f"https://huggingface.co/acme/r/resolve/main/m{i}.safetensors",
                            path=f"sub/m{i}.safetensors")
            t = time.perf_counter()
            async with session.post(url, json=body) as r:
                assert r.status == 200, await r.text()
            (optional if i % 2 else rewrite).append(time.perf_counter() - t)
    line(f"POST /mend/decisions ({REFS}-ref workflow): optional", optional[2:], "p95 < 15 ms")
    line("POST /mend/decisions: URL + workflow file rewritten", rewrite[2:], "p95 < 15 ms")
    await runner.cleanup()
    await asyncio.to_thread(mend.manifest.close)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bench_write(root)
        asyncio.run(bench_route(root))


if __name__ == "__main__":
    main()
