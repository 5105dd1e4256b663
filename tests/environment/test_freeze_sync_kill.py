"""``mend sync`` killed half-way (SIGKILL, a real subprocess) and run again: it completes, and nothing
that was finished is fetched twice; the interrupted file resumes with a Range request."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import struct
import sys
import time
from pathlib import Path

from mend.core.catalog.hashing import sha256_file
from mend.core.environment.freeze import Frozen, FrozenModel, write_frozen

from ..hf_server import FakeHub, safetensors_bytes

BIG = 12 * 1024 * 1024


def big_safetensors(size: int) -> bytes:
    header = json.dumps({"t": {"dtype": "U8", "shape": [size], "data_offsets": [0, size]}}).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + os.urandom(size)


def fresh_comfy(root: Path) -> Path:
    for sub in ("checkpoints", "loras"):
        (root / "models" / sub).mkdir(parents=True)
    (root / "custom_nodes").mkdir()
    return root


async def run_cli(args: list[str], env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "mend.cli", *args, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def test_sync_killed_half_way_resumes_without_refetching(tmp_path, aiohttp_server, small_catalog):
    hub = FakeHub()
    files = {"checkpoints/big.safetensors": big_safetensors(BIG),
             "loras/a.safetensors": safetensors_bytes(2048, seed=1),
             "loras/b.safetensors": safetensors_bytes(3072, seed=2)}
    for rel, data in files.items():
        hub.add_file("acme/models", rel, data)
    hub.fault("big.safetensors", "trickle", piece=64 * 1024, delay=0.02)  # slow enough to be caught mid-way
    server = await aiohttp_server(hub.app())
    url = str(server.make_url("")).rstrip("/")
    frozen = Frozen(models=[
        FrozenModel(rel.split("/")[0], rel.split("/", 1)[1], len(data), hashlib.sha256(data).hexdigest(),
                    (f"{url}/acme/models/resolve/main/{rel}",))
        for rel, data in files.items()])
    manifest = tmp_path / "manifest.toml"
    write_frozen(frozen, manifest)

    comfy = fresh_comfy(tmp_path / "ComfyUI")
    env = {**os.environ, "HF_ENDPOINT": url, "MEND_TEST_ALLOW_HTTP_LOOPBACK": "1",
           "MEND_CACHE_DIR": str(tmp_path / "c"), "MEND_OFFLINE": "1"}
    args = ["sync", str(manifest), "--comfyui", str(comfy), "--catalog-dir", str(small_catalog)]
    big_part = comfy / "models" / "checkpoints" / "big.safetensors.part"
    small = [comfy / "models" / "loras" / "a.safetensors", comfy / "models" / "loras" / "b.safetensors"]

    proc = await run_cli(args, env)
    deadline = time.monotonic() + 60
    while not (all(p.exists() for p in small) and big_part.exists() and big_part.stat().st_size >= 4 << 20):
        assert proc.returncode is None, (await proc.stderr.read()).decode()[-2000:]
        assert time.monotonic() < deadline, "the sync never reached the half-way point"
        await asyncio.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    kept = big_part.stat().st_size
    assert not (comfy / "models" / "checkpoints" / "big.safetensors").exists() and 0 < kept < len(files[
        "checkpoints/big.safetensors"])
    sent_before = dict(hub.sent)
    seen = len(hub.requests)

    proc = await run_cli(args, env)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert "OK:" in out.decode()
    for rel, data in files.items():
        assert sha256_file(comfy / "models" / rel) == hashlib.sha256(data).hexdigest()
    assert hub.sent["loras/a.safetensors"] == sent_before["loras/a.safetensors"]  # finished: not fetched again
    assert hub.sent["loras/b.safetensors"] == sent_before["loras/b.safetensors"]
    resumed = hub.sent["checkpoints/big.safetensors"] - sent_before["checkpoints/big.safetensors"]
    assert resumed <= len(files["checkpoints/big.safetensors"]) - kept  # only what was not on disk
    assert any(r[2] and r[2].startswith(f"bytes={kept}-") for r in hub.requests[seen:])

    sent_before, seen = dict(hub.sent), len(hub.requests)
    proc = await run_cli(args, env)  # a third run: everything present, nothing fetched
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0 and out.decode().count("present") >= 3
    assert dict(hub.sent) == sent_before and len(hub.requests) == seen
