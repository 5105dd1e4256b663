"""A download process killed with SIGKILL half-way resumes from its ``.part`` and re-fetches at most one chunk."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from mend.core.catalog.hashing import HashCache, sha256_file
from mend.core.catalog.source_policy import DownloadPolicy
from mend.core.download.engine import DownloadRunner
from mend.core.download.run import LocalContext
from mend.core.host_standalone import StandaloneHost

from ..hf_server import FakeHub, safetensors_bytes

CHUNK = 256 * 1024

CHILD = textwrap.dedent("""
    import asyncio, json, sys
    from pathlib import Path
    from mend.core.download.engine import DownloadRunner
    from mend.core.download.run import LocalContext
    from mend.core.host_standalone import StandaloneHost
    from mend.core.catalog.source_policy import DownloadPolicy

    comfy, endpoint, params, state, chunk = sys.argv[1:6]
    runner = DownloadRunner(StandaloneHost(Path(comfy)), chunk_size=int(chunk),
                            policy=DownloadPolicy(hf_endpoint=endpoint, allow_http_loopback=True))
    asyncio.run(runner.run(json.loads(params), LocalContext("child", Path(state))))
""")


async def test_sigkill_mid_download_resumes(aiohttp_server, comfy_dir: Path, tmp_path: Path) -> None:
    data = safetensors_bytes(3_000_000, seed=7)
    hub = FakeHub()
    hub.add_file("acme/models", "big.safetensors", data)
    hub.fault("big.safetensors", "trickle", piece=32 * 1024, delay=0.01)  # ~3 MB/s: time to kill it mid-way
    server = await aiohttp_server(hub.app())
    endpoint = str(server.make_url("")).rstrip("/")
    params = {"url": "https://huggingface.co/acme/models/resolve/main/big.safetensors", "folder": "checkpoints",
              "relpath": "big.safetensors"}
    state = tmp_path / "state.json"
    part = comfy_dir / "models" / "checkpoints" / "big.safetensors.part"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(comfy_dir), endpoint, json.dumps(params), str(state),
                              str(CHUNK)], stderr=subprocess.PIPE)
    try:
        for _ in range(1000):
            await asyncio.sleep(0.01)
            if part.exists() and part.stat().st_size >= len(data) // 3:
                break
        assert child.poll() is None, child.stderr.read().decode()
        sent_before_kill = hub.sent["big.safetensors"]
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    kept = part.stat().st_size
    assert 0 < kept < len(data)
    assert not (comfy_dir / "models" / "checkpoints" / "big.safetensors").exists()

    runner = DownloadRunner(StandaloneHost(comfy_dir), hashes=HashCache(None), chunk_size=CHUNK,
                            policy=DownloadPolicy(hf_endpoint=endpoint, allow_http_loopback=True))
    ctx = LocalContext("again", state)
    assert ctx.checkpoint_state.get("etag")  # the killed run journaled its validators
    result = await runner.run(params, ctx)

    final = comfy_dir / "models" / "checkpoints" / "big.safetensors"
    assert sha256_file(final) == hashlib.sha256(data).hexdigest() == result["sha256"]
    resumed = [r for (_, path, r, _) in hub.requests if path.startswith("/cdn/") and r]
    assert resumed == [f"bytes={kept}-"]
    refetched = sent_before_kill - kept
    assert refetched <= CHUNK, f"re-fetched {refetched} bytes, more than one chunk ({CHUNK})"
    assert hub.sent["big.safetensors"] - sent_before_kill <= len(data) - kept + 64 * 1024  # only the rest, once
