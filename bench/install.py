"""Event-loop lag while Mend installs node packs (git clone + pip + publish), and each install's time.

Everything is local: bare repos served over loopback HTTP (git's dumb protocol) from the same loop,
a venv made here, a wheelhouse of tiny wheels. A 5 ms ticker measures how late the loop wakes.

    python bench/install.py [--packs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import web

from mend.core.host_standalone import StandaloneHost
from mend.core.services import Mend
from mend.tests.git_server import GitServer, make_pack_repo, node_pack_files
from mend.tests.install_support import PlainContext, make_runner, make_venv, make_wheelhouse


async def ticker(lags: list[float], stop: asyncio.Event, period: float = 0.005) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(period)
        lags.append((time.perf_counter() - start - period) * 1000)


async def main(packs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="mend-bench-install-") as tmp_name:
        tmp = Path(tmp_name)
        house = make_wheelhouse(tmp / "wheels")
        python = make_venv(tmp / "venv", house)
        comfy = tmp / "ComfyUI"
        (comfy / "custom_nodes").mkdir(parents=True)
        repos = tmp / "repos"
        repos.mkdir()
        for i in range(packs):
            files = node_pack_files(f"BenchNode{i}", requirements="mend-dep-ok\n" if i == 0 else None)
            files.update({f"lib/mod{j}.py": f"X = {j}\n" * 200 for j in range(200)})  # a few hundred objects
            make_pack_repo(repos, f"bench-pack-{i}", [files])
        gs = GitServer(repos)
        runner_app = web.AppRunner(gs.app())
        await runner_app.setup()
        site = web.TCPSite(runner_app, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        mend = Mend.create(StandaloneHost(comfy), cache_dir=tmp / "cache")
        runner = make_runner(mend, python=python, wheelhouse=house)

        lags: list[float] = []
        stop = asyncio.Event()
        tick = asyncio.create_task(ticker(lags, stop))
        times = []

        async def one(i: int) -> None:
            start = time.perf_counter()
            await runner.run({"repository": f"http://127.0.0.1:{port}/bench-pack-{i}.git"}, PlainContext(f"b{i}"))
            times.append(time.perf_counter() - start)

        wall = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(packs)))
        wall = time.perf_counter() - wall
        stop.set()
        await tick
        await runner_app.cleanup()
        subprocess.run([python, "-m", "pip", "uninstall", "-y", "-q", "mend-dep-ok"], check=False)

    lags.sort()
    p99 = lags[int(len(lags) * 0.99) - 1] if lags else float("nan")
    print(f"packs installed concurrently: {packs} (200 files each; the first with one pip requirement)")
    print(f"wall time: {wall:.2f} s; per install: {', '.join(f'{t:.2f}' for t in sorted(times))} s")
    print(f"event-loop lag over {len(lags)} ticks: p50 {statistics.median(lags):.2f} ms, p99 {p99:.2f} ms, "
          f"max {lags[-1]:.2f} ms (bar: p99 < 20 ms)")
    print(f"python {sys.version.split()[0]}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packs", type=int, default=3)
    asyncio.run(main(parser.parse_args().packs))
