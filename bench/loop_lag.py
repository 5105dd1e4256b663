"""The server's event-loop lag while N clients run analyze on the largest template (bar: p99 under 20 ms
at 200 clients), and analyze throughput. Prints, never asserts.

    python bench/loop_lag.py [--clients 1 200] [--seconds 10] [--processes 2] [--shared ../shared]

The server runs in its own process, as ComfyUI would: Mend's routes on an aiohttp app over a ComfyUI-
like folder, the real catalogs, analyses in ``--processes`` helper processes (0: threads, as before the
helpers). A ticker on its loop wakes every 5 ms and records how late it woke: that is the lag any other
request (``/system_stats``, the websocket) would see. The clients run in another process at a lower CPU
priority (on a real server they are other machines); every answer counts: 200 done, 429 refused at
the cap (answered at once with ``Retry-After``), anything else is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TICK = 0.005


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the server process -------------------------------------------------------------------------------
def serve(port: int, catalog: Path, processes: int) -> None:
    from aiohttp import web

    from mend.core.catalog.registry import RegistryClient
    from mend.core.catalog.store import CatalogStore
    from mend.core.host_standalone import StandaloneHost
    from mend.core.services import Mend
    from mend.server_routes import setup

    root = Path(tempfile.mkdtemp()) / "ComfyUI"
    for sub in ("checkpoints", "loras", "vae", "text_encoders", "diffusion_models"):
        (root / "models" / sub).mkdir(parents=True)
    (root / "custom_nodes").mkdir()
    mend = Mend.create(StandaloneHost(root), catalogs=CatalogStore(catalog_dir=catalog), registry=RegistryClient(""),
                       cache_dir=root.parent / "cache")
    mend.extras["analysis_processes"] = processes
    lags: list[float] = []
    busy: list[float] = []  # the loop thread's own CPU time per tick: its work, not waiting for a core

    async def ticker() -> None:
        while True:
            start, cpu = time.perf_counter(), time.thread_time()
            await asyncio.sleep(TICK)
            lags.append(time.perf_counter() - start - TICK)
            busy.append(time.thread_time() - cpu)

    def summary(values: list[float]) -> dict:
        out = sorted(values)
        values.clear()
        return {"n": len(out), "p50": statistics.median(out) if out else 0,
                "p99": out[int(len(out) * 0.99)] if out else 0, "max": out[-1] if out else 0}

    async def lag(request: web.Request) -> web.Response:
        return web.json_response({**summary(lags), "busy": summary(busy)})

    async def start_ticker(app: web.Application) -> None:
        app["ticker"] = asyncio.create_task(ticker())

    app = web.Application(client_max_size=64 * 1024 * 1024)
    setup(app, mend)
    app.router.add_get("/bench/lag", lag)
    app.on_startup.append(start_ticker)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# -- the clients ----------------------------------------------------------------------------------------
async def hammer(port: int, body: bytes, clients: int, seconds: float) -> dict:
    import aiohttp

    counts: dict[int, int] = {}
    stop = time.monotonic() + seconds
    url = f"http://127.0.0.1:{port}/mend/analyze"

    async def client(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < stop:
            async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as resp:
                await resp.read()
                counts[resp.status] = counts.get(resp.status, 0) + 1
                if resp.status == 429:
                    await asyncio.sleep(float(resp.headers.get("Retry-After", "1")))

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as session:
        await session.get(f"http://127.0.0.1:{port}/bench/lag")  # the lag window starts now
        await asyncio.gather(*(client(session) for _ in range(clients)))
        async with session.get(f"http://127.0.0.1:{port}/bench/lag") as resp:
            lag = await resp.json()
    return {"counts": counts, "lag": lag}


def run_clients(port: int, template: Path, clients: int, seconds: float) -> dict:
    os.nice(5)
    return asyncio.run(hammer(port, template.read_bytes(), clients, seconds))


def generated(n_nodes: int) -> Path:
    """A UI workflow of ``n_nodes`` loaders and samplers with model widgets and prompts (as big as real ones)."""
    kinds = [("CheckpointLoaderSimple", ["ckpt_{}.safetensors"]), ("LoraLoader", ["lora_{}.safetensors", 1.0, 1.0]),
             ("CLIPTextEncode", ["a detailed prompt about a scene, {0} " * 8]), ("KSampler", [1, "fixed", 20, 7.0,
                                                                                        "euler", "normal", 1.0])]
    nodes = [{"id": i + 1, "type": kinds[i % 4][0], "pos": [i % 300 * 10, i // 300 * 10], "size": [300, 100],
              "flags": {}, "order": i, "mode": 0, "inputs": [], "outputs": [], "properties": {},
              "widgets_values": [v.format(i) if isinstance(v, str) else v for v in kinds[i % 4][1]]}
             for i in range(n_nodes)]
    path = Path(tempfile.mkdtemp()) / f"generated-{n_nodes}.json"
    path.write_text(json.dumps({"version": 0.4, "nodes": nodes, "links": []}))
    return path


def wait_until_up(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit("the bench server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 200])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--server-nice", type=int, default=0,
                        help="CPU priority increment of the server (negative needs root): on a box shared with "
                             "unrelated work, the server's share of the CPU, not Mend, sets the lag")
    parser.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared")
    parser.add_argument("--generate-nodes", type=int, default=0,
                        help="analyze a generated UI workflow of this many nodes instead (60000: about 25 MB)")
    parser.add_argument("--_serve", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--_clients", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._serve:
        serve(int(args._serve[0]), args.shared / "catalog", int(args._serve[1]))
        return
    if args._clients:
        port, template, clients, seconds = args._clients
        print(json.dumps(run_clients(int(port), Path(template), int(clients), float(seconds))))
        return
    templates = args.shared / "corpus" / "templates"
    template = max(templates.glob("*.json"), key=lambda p: p.stat().st_size)
    if args.generate_nodes:
        template = generated(args.generate_nodes)
    print(f"template {template.name} ({template.stat().st_size / 1024:.0f} KB); analyses in "
          f"{args.processes or 'no'} helper processes{'' if args.processes else ' (threads)'}; "
          f"{os.cpu_count()} CPUs; server at nice {args.server_nice:+d}, clients at nice +5")
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--shared", str(args.shared),
                               "--_serve", str(port), str(args.processes)],
                              preexec_fn=(lambda: os.nice(args.server_nice)) if args.server_nice else None)
    try:
        wait_until_up(port)
        # warm: helpers started, catalogs loaded
        subprocess.run([sys.executable, __file__, "--_clients", str(port), str(template), "2", "2"],
                       capture_output=True, check=True)
        print(f"{'clients':>8} {'analyses/s':>11} {'200':>7} {'429':>7} {'other':>6} {'lag p50':>9} "
              f"{'lag p99':>9} {'lag max':>9} {'loop CPU p99':>13}")
        for n in args.clients:
            done = subprocess.run([sys.executable, __file__, "--_clients", str(port), str(template), str(n),
                                   str(args.seconds)], capture_output=True, text=True, check=True)
            result = json.loads(done.stdout)
            counts = {int(k): v for k, v in result["counts"].items()}
            ok, refused = counts.get(200, 0), counts.get(429, 0)
            other = sum(v for k, v in counts.items() if k not in (200, 429))
            lag = result["lag"]
            print(f"{n:>8} {ok / args.seconds:>11.1f} {ok:>7} {refused:>7} {other:>6} {lag['p50'] * 1000:>7.1f}ms "
                  f"{lag['p99'] * 1000:>7.1f}ms {lag['max'] * 1000:>7.1f}ms {lag['busy']['p99'] * 1000:>11.1f}ms")
        print(f"load average while measuring: {os.getloadavg()[0]:.1f} (lag above loop CPU is time the loop "
              "waited for a core)")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
