"""A ``.part`` is resumed only when Mend wrote it for this file from this source; symlinks are never followed.

From the outside: downloads are asked for over HTTP (``POST /mend/models/download``) from a loopback
hub whose files have no known sha256 (not LFS), so nothing but the part's provenance protects the
result. Parts are real files (hand-made, left by a failed download of another source, altered) and
real symlinks pointing out of the model folder.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from aiohttp import web

from mend.core.catalog.hashing import HashCache
from mend.core.catalog.source_policy import DownloadPolicy
from mend.core.download.engine import DownloadRunner
from mend.core.download.part_provenance import HEAD_BYTES, sidecar
from mend.core.download.run import LocalContext
from mend.core.tasks.task_api import RetryableTaskError
from mend.server_routes import setup

from ..hf_server import served_hub

SIZE = 3 * HEAD_BYTES + 12_345
A = bytes(range(256)) * (SIZE // 256) + b"A" * (SIZE % 256)
B = bytes(reversed(range(256))) * (SIZE // 256) + b"B" * (SIZE % 256)


def url(repo: str) -> str:
    return f"https://huggingface.co/{repo}/resolve/main/x.gguf"


@pytest.fixture
async def env(aiohttp_client, aiohttp_server, comfy_dir, small_catalog, mend_for):
    hub = await served_hub(aiohttp_server)
    hub.add_file("acme/a", "x.gguf", A, lfs=False)  # no X-Linked-Etag: no sha256 is known
    hub.add_file("acme/b", "x.gguf", B, lfs=False)
    mend = mend_for(comfy_dir, small_catalog)
    policy = DownloadPolicy(hf_endpoint=hub.endpoint, allow_http_loopback=True)
    mend.extras["download_policy"] = policy
    app = web.Application()
    setup(app, mend)
    client = await aiohttp_client(app)

    async def download(repo: str) -> dict:
        resp = await client.post("/mend/models/download", json={"url": url(repo), "folder": "loras"})
        assert resp.status == 202, await resp.text()
        task = await mend.tasks.wait((await resp.json())["id"], timeout=60)
        assert task.state == "completed", task.to_json()
        return task.result

    class Env:
        pass

    e = Env()
    e.hub, e.mend, e.client, e.policy, e.download = hub, mend, client, policy, download
    e.loras = comfy_dir / "models" / "loras"
    e.final, e.part = e.loras / "x.gguf", e.loras / "x.gguf.part"
    return e


def cdn_ranges(hub) -> list[str | None]:
    return [r for (_, path, r, _) in hub.requests if "/resolve/" in path]


async def test_a_hand_made_part_is_not_trusted(env):
    env.part.write_bytes(b"Z" * HEAD_BYTES)
    await env.download("acme/a")
    assert env.final.read_bytes() == A
    assert cdn_ranges(env.hub) == [None]  # fetched whole, not from byte 1 MiB
    assert not env.part.exists() and not sidecar(env.part).exists()


async def test_a_part_of_another_source_is_not_continued(env):
    """A failed download of A leaves its part; a download of B to the same file starts over."""
    env.hub.fault("x.gguf", "cut", at=HEAD_BYTES + 4096)
    runner = DownloadRunner(env.mend.host, hashes=HashCache(None), policy=env.policy)
    with pytest.raises(RetryableTaskError):
        await runner.run({"url": url("acme/a"), "folder": "loras", "relpath": "x.gguf"}, LocalContext("a"))
    assert env.part.stat().st_size > HEAD_BYTES
    await env.download("acme/b")
    assert env.final.read_bytes() == B  # not A[:1 MiB] + B[1 MiB:]


async def test_the_part_it_wrote_is_resumed(env):
    env.hub.fault("x.gguf", "cut", at=HEAD_BYTES + 4096)
    runner = DownloadRunner(env.mend.host, hashes=HashCache(None), policy=env.policy)
    with pytest.raises(RetryableTaskError):
        await runner.run({"url": url("acme/a"), "folder": "loras", "relpath": "x.gguf"}, LocalContext("a"))
    kept = env.part.stat().st_size
    await env.download("acme/a")
    assert env.final.read_bytes() == A
    assert cdn_ranges(env.hub) == [None, f"bytes={kept}-"]


async def test_a_part_whose_first_bytes_changed_is_discarded(env):
    env.hub.fault("x.gguf", "cut", at=2 * HEAD_BYTES)
    runner = DownloadRunner(env.mend.host, hashes=HashCache(None), policy=env.policy)
    with pytest.raises(RetryableTaskError):
        await runner.run({"url": url("acme/a"), "folder": "loras", "relpath": "x.gguf"}, LocalContext("a"))
    with open(env.part, "r+b") as f:  # same size, other bytes at the start
        f.write(b"Z" * 100)
    await env.download("acme/a")
    assert env.final.read_bytes() == A
    assert cdn_ranges(env.hub)[-1] is None


async def test_a_file_changed_at_its_source_starts_over(aiohttp_server, comfy_dir):
    """A server that ignores If-Range answers 206 with the new file: the ETag differs, so the part goes."""
    content = {"data": A, "etag": '"v1"'}
    seen: list[str | None] = []

    async def serve(request: web.Request) -> web.StreamResponse:
        data, start = content["data"], 0
        if request.method == "GET":  # the downloads' requests (a new task first probes the link with HEAD)
            seen.append(request.headers.get("Range"))
        headers = {"ETag": content["etag"], "Accept-Ranges": "bytes"}
        if request.headers.get("Range"):
            start = int(request.headers["Range"].split("=")[1].split("-")[0])
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        if content.get("cut") and not start:
            resp = web.StreamResponse(headers={**headers, "Content-Length": str(len(data))})
            await resp.prepare(request)
            await resp.write(data[: HEAD_BYTES + 100])
            request.transport.close()
            return resp
        return web.Response(body=data[start:], status=206 if start else 200, headers=headers)

    app = web.Application()
    app.router.add_get("/x.gguf", serve)
    server = await aiohttp_server(app)
    policy = DownloadPolicy(allow_http_loopback=True, extra_hosts=("127.0.0.1",))
    from mend.core.host_standalone import StandaloneHost

    runner = DownloadRunner(StandaloneHost(comfy_dir), hashes=HashCache(None), policy=policy)
    params = {"url": f"http://127.0.0.1:{server.port}/x.gguf", "folder": "loras", "relpath": "x.gguf"}
    content["cut"] = True
    with pytest.raises(RetryableTaskError):
        await runner.run(params, LocalContext("a"))
    content.update({"data": B, "etag": '"v2"', "cut": False})
    result = await DownloadRunner(StandaloneHost(comfy_dir), hashes=HashCache(None), policy=policy).run(
        params, LocalContext("b"))
    assert (comfy_dir / "models" / "loras" / "x.gguf").read_bytes() == B
    assert result["sha256"] == hashlib.sha256(B).hexdigest()
    assert seen[1].startswith("bytes=") and seen[2] is None  # the resume was answered with v2: fetched again


async def test_a_symlinked_part_is_not_followed(env, tmp_path):
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"precious")
    os.symlink(outside, env.part)
    await env.download("acme/a")
    assert outside.read_bytes() == b"precious"  # never grown, never truncated
    assert env.final.read_bytes() == A and not env.final.is_symlink()
    assert not os.path.lexists(env.part)


async def test_a_symlinked_subfolder_leading_out_is_refused(env, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (env.loras / "sub").symlink_to(outside, target_is_directory=True)
    resp = await env.client.post("/mend/models/download", json={"url": url("acme/a"), "folder": "loras",
                                                                "filename": "sub/x.gguf"})
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "unsafe_path"
    assert list(Path(outside).iterdir()) == []
