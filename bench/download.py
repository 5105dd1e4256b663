"""Download bench: Mend against curl and a plain Python copy on a 1 GB file from a loopback server.

Prints, from one run:

- throughput: Mend (hashing while it streams, sha256 checked) against the faster of ``curl`` and a plain
  1 MiB streaming copy in Python (bar: at least 90%);
- download + verify time against Mend's download alone (bar: at most 1.1x), at full loopback speed and
  from a paced server (1 MiB, then a 4 ms wait), where the CPU is not the limit;
- Mend's peak RSS against the file size (bar: flat; the process's baseline RSS is shown beside it);
- sha256 throughput of ``hashing.sha256_file`` against ``openssl dgst -sha256`` (bar: at least 90%);
- bytes re-fetched after the download process is killed with SIGKILL half-way (bar: at most one chunk), split
  into what Mend had received but not written and what still sat in the kernel's socket buffers.

The server (``tests/hf_server.py``) and every client run in their own processes, so no two share a GIL.
Usage: ``python bench/download.py [--size-mb 1024] [--dir /tmp] [--runs 3]``; files are deleted afterwards.
``--dir /dev/shm`` (tmpfs) takes the disk out of the comparison: what is left is receiving, hashing and
writing into memory, i.e. the engine's own cost. On a 2-core machine the server, the client's threads
and the hashing share those two cores, so run nothing else meanwhile (figures swing by +-30% otherwise).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from file_args import file_bench_args

REPO = Path(__file__).resolve().parent.parent
PACE = 0.004  # seconds the paced server waits after each MiB
sys.path.insert(0, str(REPO))  # tests/hf_server.py


# -- child roles ------------------------------------------------------------------------------------

def serve(port: int, file: Path) -> None:
    from aiohttp import web

    from tests.hf_server import FakeHub

    hub = FakeHub()
    hub.add_file("bench/fast", "big.safetensors", file, sendfile=True)
    hub.add_file("bench/counted", "counted.safetensors", file)  # streamed by hand: every byte counted
    hub.add_file("bench/paced", "paced.safetensors", file)  # a link slower than the CPU: 1 MiB, then 4 ms
    hub.fault("paced.safetensors", "trickle", piece=1 << 20, delay=PACE, times=1 << 30)
    app = hub.app()

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response(dict(hub.sent))

    app.router.add_get("/_stats", stats)
    web.run_app(app, host="127.0.0.1", port=port, print=None, handle_signals=True)


def mend_client(url: str, dest: Path, sha: str | None, hashing: bool) -> None:
    from mend.core.catalog.source_policy import DownloadPolicy
    from mend.core.download.engine import DownloadRunner
    from mend.core.download.http import ssl_context
    from mend.core.download.run import LocalContext, run_with_retries
    from mend.core.host_standalone import StandaloneHost

    endpoint = url.split("/", 3)[:3]
    runner = DownloadRunner(StandaloneHost(dest), hash_while_streaming=hashing,
                            policy=DownloadPolicy(hf_endpoint="/".join(endpoint), allow_http_loopback=True))
    params = {"url": url, "folder": "checkpoints", "relpath": "big.safetensors", **({"sha256": sha} if sha else {})}
    state = dest / "state.json"
    ssl_context()  # loaded once per process (a server's Mend pays it at its first download, not per file)
    cpu, started = process_cpu(), time.perf_counter()
    result = asyncio.run(run_with_retries(runner, params, LocalContext("bench", state), backoff=0.5))
    elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed, "cpu": process_cpu() - cpu, "size": result["size"],
                      "sha256": result["sha256"], "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


def python_client(url: str, out: Path) -> None:
    cpu, started = process_cpu(), time.perf_counter()
    with urllib.request.urlopen(url) as resp, open(out, "wb") as f:
        while block := resp.read(1 << 20):
            f.write(block)
    print(json.dumps({"seconds": time.perf_counter() - started, "cpu": process_cpu() - cpu}))


def process_cpu() -> float:
    """CPU seconds of this process, all its threads, user and kernel."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def server_cpu(pid: int) -> float | None:
    """CPU seconds the server process has used so far (Linux ``/proc``), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def baseline_rss() -> None:
    import importlib

    for name in ("mend.core.download.engine", "mend.core.download.run", "mend.core.host_standalone"):
        importlib.import_module(name)  # what the Mend client imports, without downloading anything

    print(json.dumps({"maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


# -- the bench ----------------------------------------------------------------------------------

def run_json(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def make_file(path: Path, size: int) -> None:
    """A valid .safetensors file: one uint8 tensor of ``size`` bytes of random-looking data."""
    header = json.dumps({"t": {"dtype": "U8", "shape": [size], "data_offsets": [0, size]}}).encode()
    header += b" " * (-len(header) % 8)
    block = os.urandom(16 << 20)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
        left = size
        while left > 0:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def best(runs: int, fn) -> float:
    return min(fn() for _ in range(runs))


class Runs:
    """The fastest of a client's runs, with the CPU that run cost the client and the server."""

    def __init__(self, server: subprocess.Popen) -> None:
        self.server = server
        self.fastest: dict[str, dict] = {}

    def record(self, label: str, fn) -> float:
        before = server_cpu(self.server.pid)
        run = fn()
        after = server_cpu(self.server.pid)
        run["server_cpu"] = None if before is None or after is None else after - before
        if label not in self.fastest or run["seconds"] < self.fastest[label]["seconds"]:
            self.fastest[label] = run
        return run["seconds"]

    def cpu_line(self, label: str) -> str:
        run = self.fastest[label]
        server = "?" if run["server_cpu"] is None else f"{run['server_cpu']:.2f}"
        return f"{run['cpu']:.2f} + {server}"


def main() -> None:
    args = file_bench_args(__doc__)
    size = args.size_mb << 20
    work = Path(tempfile.mkdtemp(prefix="mend-bench-", dir=args.dir))
    server = None
    try:
        if shutil.disk_usage(work).free < 4 * size:
            sys.exit(f"need {4 * size >> 20} MiB free in {work}")
        src = work / "src.safetensors"
        make_file(src, size)
        total = src.stat().st_size
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), str(src)])
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{base}/_stats").read()
                break
            except OSError:
                time.sleep(0.05)
        sha = subprocess.run(["openssl", "dgst", "-sha256", "-r", str(src)], check=True, capture_output=True,
                             text=True).stdout.split()[0]
        fast = f"{base}/cdn/{sha}?name=big.safetensors"

        def clean() -> Path:
            dest = work / "ComfyUI"
            shutil.rmtree(dest, ignore_errors=True)
            (dest / "models" / "checkpoints").mkdir(parents=True)
            return dest

        def curl() -> float:
            out = work / "curl.out"
            started = time.perf_counter()
            subprocess.run(["curl", "-s", "-o", str(out), fast], check=True)
            elapsed = time.perf_counter() - started
            out.unlink()
            return elapsed

        runs = Runs(server)

        def plain() -> float:
            def once() -> dict:
                r = run_json("--python-client", fast, str(work / "py.out"))
                (work / "py.out").unlink()
                return r
            return runs.record("plain", once)

        mend_runs: list[dict] = []

        def mend(verify: bool, url: str = fast, label: str = "") -> float:
            def once() -> dict:
                r = run_json("--mend-client", url, str(clean()), sha if verify else "-", "1" if verify else "0")
                assert r["size"] == total and (not verify or r["sha256"] == sha), r
                mend_runs.append(r)
                return r
            return runs.record(label + ("verify" if verify else "alone"), once)

        t_curl, t_plain = best(args.runs, curl), best(args.runs, plain)
        t_alone, t_verify = best(args.runs, lambda: mend(False)), best(args.runs, lambda: mend(True))
        paced = f"{base}/cdn/{sha}?name=paced.safetensors"
        paced_runs = min(args.runs, 3)
        t_paced_alone = best(paced_runs, lambda: mend(False, paced, "paced "))
        t_paced_verify = best(paced_runs, lambda: mend(True, paced, "paced "))
        rss = max(r["maxrss"] for r in mend_runs)
        rss_base = run_json("--baseline-rss")["maxrss"]

        from mend.core.catalog.hashing import sha256_file
        from mend.core.download.engine import CHUNK

        def openssl() -> float:
            started = time.perf_counter()
            subprocess.run(["openssl", "dgst", "-sha256", str(src)], check=True, capture_output=True)
            return time.perf_counter() - started

        def ours() -> float:
            started = time.perf_counter()
            sha256_file(src)
            return time.perf_counter() - started

        t_openssl, t_hash = best(args.runs, openssl), best(args.runs, ours)
        refetched, kept, queued = kill_and_resume(base, work, clean(), sha, total)
        server_refetched, server_kept = kill_server(server, port, src, work, clean(), sha, total)

        mb = total / 1e6
        reference = min(t_curl, t_plain)
        print(f"file: {total / 2**20:.0f} MiB from a loopback server ({args.runs} runs each, best shown)")
        print(f"  curl                      {mb / t_curl:8.0f} MB/s")
        print(f"  python 1 MiB copy         {mb / t_plain:8.0f} MB/s")
        print(f"  mend (download + verify)  {mb / t_verify:8.0f} MB/s   = {reference / t_verify:.0%} of the faster "
              f"(bar >= 90%)")
        print(f"  mend (download alone)     {mb / t_alone:8.0f} MB/s   verify costs {t_verify / t_alone:.2f}x "
              f"(bar <= 1.10x)")
        cores = os.cpu_count() or 1
        needed = runs.fastest["verify"]["cpu"] + (runs.fastest["verify"]["server_cpu"] or 0)
        bound = max(needed / cores, runs.fastest["verify"]["cpu"] / 3)  # 3 threads: receive, write, hash
        print(f"  CPU of the fastest run, client + server, in core-seconds ({cores} cores):")
        print(f"    python copy {runs.cpu_line('plain')}   mend alone {runs.cpu_line('alone')}   "
              f"mend + verify {runs.cpu_line('verify')}")
        print(f"    with verify the run needs {needed:.2f} core-s: at best {bound:.2f} s here "
              f"({mb / bound:.0f} MB/s); Mend took {t_verify:.2f} s = {bound / t_verify:.0%} of that bound")
        second_pass = t_paced_alone + t_hash  # the download, then the file read and hashed again
        print(f"  paced link ({mb / t_paced_alone:.0f} MB/s: the server waits {PACE * 1000:.0f} ms after each MiB, "
              f"so the CPU has time to spare): verify costs {t_paced_verify / t_paced_alone:.2f}x "
              f"(hashing in a second pass would cost {second_pass / t_paced_alone:.2f}x)")
        print(f"  mend peak RSS             {rss / 2**20:8.1f} MiB   (python + imports alone: "
              f"{rss_base / 2**20:.1f} MiB; file: {total / 2**20:.0f} MiB; bar: flat)")
        print(f"  sha256 openssl            {mb / t_openssl:8.0f} MB/s")
        print(f"  sha256 mend               {mb / t_hash:8.0f} MB/s   = {t_openssl / t_hash:.0%} of openssl "
              f"(bar >= 90%)")
        print(f"  server killed at {server_kept / 2**20:.0f} MiB: re-fetched {server_refetched / 2**20:.2f} MiB "
              f"(chunk: {CHUNK / 2**20:.0f} MiB; bar <= 1 chunk)")
        lost = f"{(refetched - queued) / 2**20:.2f} MiB" if queued is not None else "?"
        held = "?" if queued is None else f"{queued / 2**20:.2f} MiB"
        print(f"  mend killed at {kept / 2**20:.0f} MiB: re-fetched {refetched / 2**20:.2f} MiB = {lost} Mend had "
              f"received and not written (bar <= {CHUNK / 2**20:.0f} MiB chunk) + {held} in the kernel's socket "
              "buffers")
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(work, ignore_errors=True)


def kill_server(server: subprocess.Popen, port: int, src: Path, work: Path, dest: Path, sha: str,
                total: int) -> tuple[int, int]:
    """SIGKILL the server half-way, start it again; Mend retries and resumes. Returns (re-fetched, kept)."""
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/cdn/{sha}?name=counted.safetensors"
    part = dest / "models" / "checkpoints" / "big.safetensors.part"
    before = json.loads(urllib.request.urlopen(f"{base}/_stats").read()).get("counted.safetensors", 0)
    child = subprocess.Popen([sys.executable, __file__, "--mend-client", url, str(dest), sha, "1"],
                             stdout=subprocess.PIPE, text=True)
    while child.poll() is None and (not part.exists() or part.stat().st_size < total // 2):
        time.sleep(0.002)
    sent = json.loads(urllib.request.urlopen(f"{base}/_stats").read()).get("counted.safetensors", 0) - before
    server.kill()
    server.wait()
    time.sleep(0.3)  # let the client see the drop and write what it received
    kept = part.stat().st_size
    server.__init__([sys.executable, __file__, "--serve", str(port), str(src)])  # same object: main() stops it
    child.communicate(timeout=600)
    assert child.returncode == 0
    return max(0, sent - kept), kept


def kill_and_resume(base: str, work: Path, dest: Path, sha: str, total: int) -> tuple[int, int, int | None]:
    """SIGKILL a Mend download half-way (counted path), resume it.

    Returns (bytes sent twice, bytes kept in the part, bytes that sat in the kernel's socket buffers at
    the kill). The client is frozen (SIGSTOP) first so that the server's count and the socket queues
    are read at one moment; what is sent twice and was in neither the part nor those queues is what
    Mend had received and not yet written.
    """
    port = int(base.rsplit(":", 1)[1])
    url = f"{base}/cdn/{sha}?name=counted.safetensors"
    part = dest / "models" / "checkpoints" / "big.safetensors.part"
    child = subprocess.Popen([sys.executable, __file__, "--mend-client", url, str(dest), sha, "1"],
                             stdout=subprocess.DEVNULL)
    while child.poll() is None and (not part.exists() or part.stat().st_size < total // 2):
        time.sleep(0.002)
    os.kill(child.pid, signal.SIGSTOP)
    time.sleep(0.3)  # the server fills the socket buffers, then waits
    sent = json.loads(urllib.request.urlopen(f"{base}/_stats").read()).get("counted.safetensors", 0)
    queued = kernel_queued(port)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    kept = part.stat().st_size
    run_json("--mend-client", url, str(dest), sha, "1")
    return max(0, sent - kept), kept, queued


def kernel_queued(port: int) -> int | None:
    """Bytes in the kernel's queues of the established connections to ``port`` (server send + client
    receive), from ``/proc/net/tcp``; None where there is no such file."""
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return None
    queued = 0
    for line in lines:
        fields = line.split()
        local, remote, state, queues = fields[1], fields[2], fields[3], fields[4]
        if state != "01":  # ESTABLISHED
            continue
        tx, rx = (int(q, 16) for q in queues.split(":"))
        if int(local.split(":")[1], 16) == port:
            queued += tx  # written by the server, not yet in the client's kernel
        elif int(remote.split(":")[1], 16) == port:
            queued += rx  # in the client's kernel, not yet read by Mend
    return queued


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), Path(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--mend-client":
        mend_client(sys.argv[2], Path(sys.argv[3]), None if sys.argv[4] == "-" else sys.argv[4], sys.argv[5] == "1")
    elif len(sys.argv) > 1 and sys.argv[1] == "--python-client":
        python_client(sys.argv[2], Path(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--baseline-rss":
        baseline_rss()
    else:
        main()
