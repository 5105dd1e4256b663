"""Wall time of ``sync`` for 10 models of 100 MB from a loopback Hugging Face server, at 1, 2 and 4 downloads at
once, against the sum of downloading each file alone.

The files are valid ``.safetensors`` (header, 1 MiB of random bytes, the rest a sparse hole) made in a
temp dir and deleted after; the loopback hub (``tests/hf_server.FakeHub``) runs in its own process so
server and client do not share a GIL. Each run syncs into a fresh ComfyUI directory with a fresh hash
cache (so every file is downloaded and verified); the synced copies are deleted and the disk synced
between runs. Figures are bound by the disk (downloads fsync) and the cores of this machine: on a slow
disk, 1 GB of dirty pages throttles the longer runs, so ``TMPDIR=/dev/shm`` (tmpfs) shows Mend's own
figures. Measured here on tmpfs, 2 cores: one by one 1.80 s, limit 1 1.75 s, limit 2 1.43 s, limit 4 1.34 s.

    TMPDIR=/dev/shm python bench/sync.py [--files 10] [--mb 100] [--limits 1,2,4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from mend.core.catalog.hashing import sha256_file
from mend.core.catalog.registry import RegistryClient
from mend.core.catalog.source_policy import DownloadPolicy
from mend.core.catalog.store import CatalogStore
from mend.core.environment.sync import finish_sync, plan_sync, start_sync
from mend.core.host_standalone import StandaloneHost
from mend.core.services import Mend


def make_model(path: Path, size: int) -> None:
    """A valid safetensors file of ``size`` bytes, mostly a sparse hole (distinct digests: random head)."""

    def header(payload: int) -> bytes:
        return json.dumps({"t": {"dtype": "U8", "shape": [payload], "data_offsets": [0, payload]}}).encode()

    width = len(header(size)) + (-len(header(size)) % 8)  # the real payload has no more digits than size
    payload = size - 8 - width
    head = header(payload).ljust(width)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", width) + head + os.urandom(1 << 20))
        f.truncate(size)


def serve(port: int, folder: Path) -> None:
    from aiohttp import web

    from mend.tests.hf_server import FakeHub

    hub = FakeHub()
    for file in sorted(folder.iterdir()):
        hub.add_file("bench/models", file.name, file)
    web.run_app(hub.app(), host="127.0.0.1", port=port, print=None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/models/bench/models", timeout=2).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


async def timed_sync(tmp: Path, url: str, models: dict[str, dict], limit: int) -> float:
    comfy = tmp / "ComfyUI"
    (comfy / "models" / "checkpoints").mkdir(parents=True)
    (comfy / "custom_nodes").mkdir()
    host = StandaloneHost(comfy)
    empty = tmp / "catalog"
    empty.mkdir(exist_ok=True)
    mend = Mend.create(host, catalogs=CatalogStore(catalog_dir=empty, cache_dir=tmp / "cache"),
                       registry=RegistryClient(""), cache_dir=tmp / "cache")
    mend.extras["download_policy"] = DownloadPolicy(hf_endpoint=url, allow_http_loopback=True)
    mend.tasks.limits["download"] = limit
    await asyncio.to_thread(os.sync)  # the last run's writeback must not be billed to this one
    try:
        started = time.perf_counter()
        plan = await plan_sync(mend, {"models": models})
        await start_sync(mend, plan)
        await finish_sync(mend, plan)
        elapsed = time.perf_counter() - started
        assert plan.ok, plan.to_json()
    finally:
        await mend.close()
        await asyncio.to_thread(mend.manifest.close)
        shutil.rmtree(comfy, ignore_errors=True)
        shutil.rmtree(tmp / "cache", ignore_errors=True)
    return elapsed


async def main(files: int, mb: int, limits: list[int]) -> None:
    with tempfile.TemporaryDirectory(prefix="mend-bench-sync-") as name:
        tmp = Path(name)
        src = tmp / "src"
        src.mkdir()
        models = {}
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        for i in range(files):
            path = src / f"model-{i:02d}.safetensors"
            make_model(path, mb << 20)
            models[f"checkpoints/{path.name}"] = {
                "folder": "checkpoints", "path": path.name, "size": path.stat().st_size,
                "sha256": await asyncio.to_thread(sha256_file, path),
                "sources": [f"{url}/bench/models/resolve/main/{path.name}"]}
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), str(src)])
        try:
            await asyncio.to_thread(wait_ready, url)
            total = sum(m["size"] for m in models.values())
            print(f"sync of {files} models x {mb} MB ({total / 2**30:.2f} GiB) from a loopback hub "
                  f"(sha256 verified while streaming)")
            alone = []
            for key, entry in models.items():
                alone.append(await timed_sync(tmp / "run", url, {key: entry}, 1))
            base = sum(alone)
            print(f"{'one by one (sum)':>18}: {base:6.2f} s  {total / base / 2**20:7.1f} MiB/s")
            for limit in limits:
                t = await timed_sync(tmp / "run", url, models, limit)
                print(f"{f'limit {limit}':>18}: {t:6.2f} s  {total / t / 2**20:7.1f} MiB/s  "
                      f"{base / t:4.2f}x the one-by-one sum")
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), Path(sys.argv[3]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--limits", default="1,2,4")
    args = parser.parse_args()
    asyncio.run(main(args.files, args.mb, [int(x) for x in args.limits.split(",")]))
