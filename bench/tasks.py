"""Event-loop lag while background tasks run, and how fast ``GET /mend/tasks`` answers meanwhile.

    python bench/tasks.py [--seconds 8] [--rate-mb 80]

Three downloads, Mend's own download engine (``core/download/engine.py``: the body is received, hashed and
written in worker threads), stream from a loopback aiohttp file server (another process, each stream
paced at ``--rate-mb`` MB/s) into a model folder; one install-like task runs a python
subprocess that hashes and writes files (CPU and disk). The server under test (this process) runs
Mend's task manager and routes on one loop. A probe sleeps 5 ms in a loop and records how late it
wakes (the loop's lag). First half: tasks only; second half: a poller in another process hammers
``GET /mend/tasks`` with 4 connections. Bar: p99 lag under 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import web

from mend import server_routes
from mend.core.catalog.registry import RegistryClient
from mend.core.catalog.source_policy import DownloadPolicy
from mend.core.catalog.store import CatalogStore
from mend.core.host_standalone import StandaloneHost
from mend.core.services import Mend

FILE_SERVER = r"""
import asyncio, sys
from aiohttp import web
CHUNK = bytes(range(256)) * 4096
rate = float(sys.argv[1]) * 1e6
async def serve(request):
    size = int(request.query["size"])
    resp = web.StreamResponse(headers={"Content-Length": str(size)})
    await resp.prepare(request)
    sent, t0 = 0, asyncio.get_running_loop().time()
    while sent < size:
        n = min(len(CHUNK), size - sent)
        await resp.write(CHUNK[:n])
        sent += n
        ahead = sent / rate - (asyncio.get_running_loop().time() - t0)
        if ahead > 0:
            await asyncio.sleep(ahead)
    return resp
app = web.Application()
app.router.add_get("/file", serve)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[2]), print=lambda *a: print("ready", flush=True))
"""

POLLER = r"""
import asyncio, sys, time, aiohttp
async def main(url, seconds):
    count, deadline = 0, time.monotonic() + seconds
    async with aiohttp.ClientSession() as s:
        async def worker():
            nonlocal count
            while time.monotonic() < deadline:
                async with s.get(url) as r:
                    await r.read()
                    count += 1
        await asyncio.gather(*(worker() for _ in range(4)))
    print(count / seconds, flush=True)
asyncio.run(main(sys.argv[1], float(sys.argv[2])))
"""

INSTALL_WORK = r"""
import hashlib, os, sys, tempfile, time
deadline = time.monotonic() + float(sys.argv[1])
block = os.urandom(1 << 20)
with tempfile.TemporaryDirectory() as d:
    i = 0
    while time.monotonic() < deadline:
        h = hashlib.sha256()
        for _ in range(32):
            h.update(block)
        with open(os.path.join(d, f"f{i % 8}"), "wb") as f:
            f.write(block * 4)
        i += 1
        print(i, flush=True)
"""


class InstallLike:
    """A subprocess doing CPU and disk work (pip building a wheel, say), killed on cancel."""

    kind = "install"
    resumable = False

    def target(self, params):
        return "install-like"

    async def run(self, params, ctx):
        ctx.step("build")
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", INSTALL_WORK, str(params["seconds"]),
                                                    stdout=asyncio.subprocess.PIPE)
        try:
            async for line in proc.stdout:
                ctx.progress(int(line), None, message="building")
            await proc.wait()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        return {"returncode": proc.returncode}


async def probe_lag(stop: asyncio.Event, samples: list[float], period: float = 0.005) -> None:
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.sleep(period)
        samples.append(time.perf_counter() - t0 - period)


def summary(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"p50 {statistics.median(ms):5.2f} ms  p99 {p99:5.2f} ms  max {ms[-1]:6.2f} ms  ({len(ms)} samples)"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def main(seconds: float, rate_mb: float) -> None:
    load = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="mend-bench-tasks-"))
    (tmp / "ComfyUI" / "models").mkdir(parents=True)
    (tmp / "catalog").mkdir()
    mend = Mend.create(StandaloneHost(tmp / "ComfyUI"), catalogs=CatalogStore(catalog_dir=tmp / "catalog"),
                       registry=RegistryClient(""), cache_dir=tmp / "cache")

    file_port, api_port = free_port(), free_port()
    files = subprocess.Popen([sys.executable, "-c", FILE_SERVER, str(rate_mb), str(file_port)],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    files.stdout.readline()
    (tmp / "ComfyUI" / "models" / "checkpoints").mkdir()
    # the real download runner, allowed to fetch plain http from the loopback file server
    mend.extras["download_policy"] = DownloadPolicy(hf_endpoint=f"http://127.0.0.1:{file_port}",
                                                    allow_http_loopback=True)
    app = web.Application()
    server_routes.setup(app, mend)
    mend.tasks.register(InstallLike())  # after the routes, which register the real runners
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", api_port).start()
    try:
        idle: list[float] = []
        stop = asyncio.Event()
        probe = asyncio.create_task(probe_lag(stop, idle))
        await asyncio.sleep(2)  # the control: this machine's lag with nothing running
        stop.set()
        await probe
        size = int(rate_mb * 1e6 * seconds * 1.3)  # outlasts the measurement
        t0 = time.perf_counter()
        downloads = [await mend.tasks.submit("download", {"url": f"http://127.0.0.1:{file_port}/file?size={size}",
                                                          "folder": "checkpoints", "relpath": f"model{i}.gguf"})
                     for i in range(3)]
        install = await mend.tasks.submit("install", {"seconds": seconds * 1.3})
        stop, quiet, busy = asyncio.Event(), [], []
        probe = asyncio.create_task(probe_lag(stop, quiet))
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        await asyncio.sleep(seconds / 2)
        stop.set()
        await probe
        loop_cpu = (time.thread_time() - cpu0) / (time.perf_counter() - wall0)
        stop = asyncio.Event()
        probe = asyncio.create_task(probe_lag(stop, busy))
        poller = await asyncio.create_subprocess_exec(sys.executable, "-c", POLLER,
                                                      f"http://127.0.0.1:{api_port}/mend/tasks", str(seconds / 2),
                                                      stdout=asyncio.subprocess.PIPE)
        out, _ = await poller.communicate()
        stop.set()
        await probe
        elapsed = time.perf_counter() - t0
        moved = sum(t.done for t in downloads)
        states = [t.state for t in [*downloads, install]]
        for t in [*downloads, install]:
            if not t.finished:
                await mend.tasks.cancel(t.id)
        print(f"3 downloads ({rate_mb:.0f} MB/s each, paced) + 1 install-like subprocess, {elapsed:.1f} s; "
              f"states during the run: {states}")
        print(f"downloaded {moved / 1e6:.0f} MB in {elapsed:.1f} s ({moved / 1e6 / elapsed:.0f} MB/s in all)")
        print(f"machine load average at start: {load[0]:.1f} on {os.cpu_count()} CPUs "
              "(other processes' CPU use shows up as lag too)")
        print(f"loop thread CPU while tasks run:      {loop_cpu * 100:.0f}% of one core")
        print(f"loop lag, nothing running (control):  {summary(idle)}")
        print(f"loop lag, tasks only:                 {summary(quiet)}")
        print(f"loop lag, tasks + GET /mend/tasks:    {summary(busy)}   (bar: p99 < 20 ms)")
        print(f"GET /mend/tasks answered meanwhile:   {float(out):.0f} requests/s (4 connections, another process)")
    finally:
        await runner.cleanup()
        files.terminate()
        files.wait()
        for f in (tmp / "ComfyUI" / "models" / "checkpoints").glob("model*"):
            f.unlink()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rate-mb", type=float, default=80.0, help="pace of each download stream (MB/s)")
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.rate_mb))
