"""Link probe bench: what asking a link first adds to a download task's start, against a loopback file host.

Prints, from one run:

- one probe (HEAD) of a file, uncached: median and p95 in ms; one where HEAD is refused (405, then
  ``GET`` with ``Range: bytes=0-0``); a cached answer (what a panel that renders again pays), in µs;
- a whole small download task (4 KiB, so the start dominates) with the probe against the same task with
  the probe answered from a stub: median and p95 of each, and the difference per task start;
- a 64 MiB download with and without the probe: the share of the time the probe adds.

Hugging Face links are not probed (the hub's API confirms them), so ``bench/download.py``, which downloads
from a loopback hub, runs exactly as before. The file host (``tests/link_server.py``) runs in its own
process. Usage: ``python bench/link_probe.py [--runs 200]``.
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # tests/link_server.py


def serve(port: int, size: int) -> None:
    import json
    import struct

    from aiohttp import web

    from tests.link_server import LinkHost

    header = json.dumps({"t": {"dtype": "U8", "shape": [size], "data_offsets": [0, size]}}).encode()
    header += b" " * (-len(header) % 8)
    body = (bytes(range(251)) * (size // 251 + 1))[:size]  # a valid .safetensors file, built fast
    host = LinkHost(struct.pack("<Q", len(header)) + header + body)
    host.requests = _Discard()  # a long bench must not grow a list
    web.run_app(host.app(), host="127.0.0.1", port=port, print=None)


class _Discard(list):
    def append(self, _item: object) -> None:
        pass


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1e3:6.2f} ms, p95 {percentile(values, 0.95) * 1e3:6.2f} ms"


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def bench(base: str, runs: int) -> None:
    from mend.core.catalog.link_check import LinkChecker
    from mend.core.catalog.link_probe import LinkProbe, probe_link
    from mend.core.catalog.source_policy import DownloadPolicy
    from mend.core.download.engine import DownloadRunner
    from mend.core.download.run import LocalContext
    from mend.core.host import SUPPORTED_PT_EXTENSIONS
    from mend.core.host_standalone import StandaloneHost

    policy = DownloadPolicy(allow_http_loopback=True, extra_hosts=("127.0.0.1",))
    url = f"{base}/files/x.safetensors"
    for _ in range(5):  # warm up the server and the imports
        probe_link(url, policy)
    head = timed(lambda: probe_link(url, policy, folder="loras", extensions=SUPPORTED_PT_EXTENSIONS), runs)
    ranged = timed(lambda: probe_link(f"{base}/nohead/x.safetensors", policy), runs)
    checker = LinkChecker(policy)
    checker.probe(url, "loras")
    cached = timed(lambda: checker.probe(url, "loras"), runs * 10)
    print(f"probe, HEAD:                      {ms(head)}")
    print(f"probe, HEAD refused, GET 0-0:     {ms(ranged)}")
    print(f"probe, cached answer:             median {statistics.median(cached) * 1e6:6.1f} µs")

    def stub(u: str, p: DownloadPolicy, **_: object) -> LinkProbe:
        return LinkProbe(u, "usable", "stub", "127.0.0.1")

    def task_times(with_probe: bool, path: str, n: int) -> list[float]:
        out = []
        for i in range(n):
            with tempfile.TemporaryDirectory() as tmp:
                links = LinkChecker(policy) if with_probe else LinkChecker(policy, probe=stub)
                runner = DownloadRunner(StandaloneHost(Path(tmp)), policy=policy, links=links)
                params = {"url": f"{base}{path}?n={i}", "folder": "loras", "relpath": "x.safetensors"}
                started = time.perf_counter()
                asyncio.run(runner.run(params, LocalContext("bench")))
                out.append(time.perf_counter() - started)
        return out

    small_runs = max(20, runs // 4)
    task_times(True, "/files/x.safetensors", 3)
    plain, probed = [], []
    for _ in range(small_runs):  # interleaved, so a busy moment hits both alike
        plain += task_times(False, "/files/x.safetensors", 1)
        probed += task_times(True, "/files/x.safetensors", 1)
    print(f"4 KiB task, probe stubbed:        {ms(plain)}")
    print(f"4 KiB task, probed:               {ms(probed)}")
    added = statistics.median(probed) - statistics.median(plain)
    print(f"added per task start (medians):   {added * 1e3:6.2f} ms")


def bench_large(base: str) -> None:
    from mend.core.catalog.link_check import LinkChecker
    from mend.core.catalog.link_probe import LinkProbe
    from mend.core.catalog.source_policy import DownloadPolicy
    from mend.core.download.engine import DownloadRunner
    from mend.core.download.run import LocalContext
    from mend.core.host_standalone import StandaloneHost

    policy = DownloadPolicy(allow_http_loopback=True, extra_hosts=("127.0.0.1",))

    def stub(u: str, p: DownloadPolicy, **_: object) -> LinkProbe:
        return LinkProbe(u, "usable", "stub", "127.0.0.1")

    def one(with_probe: bool) -> float:
        with tempfile.TemporaryDirectory() as tmp:
            links = LinkChecker(policy) if with_probe else LinkChecker(policy, probe=stub)
            runner = DownloadRunner(StandaloneHost(Path(tmp)), policy=policy, links=links)
            started = time.perf_counter()
            asyncio.run(runner.run({"url": f"{base}/files/x.safetensors", "folder": "loras",
                                    "relpath": "x.safetensors"}, LocalContext("bench")))
            return time.perf_counter() - started

    one(True)
    plain, probed = [], []
    for _ in range(5):
        plain.append(one(False))
        probed.append(one(True))
    share = (statistics.median(probed) - statistics.median(plain)) / statistics.median(plain)
    print(f"64 MiB download, probe stubbed:   median {statistics.median(plain):6.3f} s")
    print(f"64 MiB download, probed:          median {statistics.median(probed):6.3f} s  ({share * 100:+.1f}%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=4096, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.size)
        return
    import socket

    servers = []
    try:
        bases = []
        for size in (4096, 64 << 20):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            servers.append(subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--size", str(size)]))
            bases.append(f"http://127.0.0.1:{port}")
        for base in bases:
            _wait_for(base)
        bench(bases[0], args.runs)
        bench_large(bases[1])
    finally:
        for server in servers:
            server.terminate()
            server.wait()


def _wait_for(base: str) -> None:
    import urllib.request

    for _ in range(600):
        try:
            urllib.request.urlopen(base + "/files/x", timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"the file host at {base} did not start")


if __name__ == "__main__":
    main()
