"""The download engine against a real loopback Hugging Face server: resume, verify, place, refuse."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from mend.core.catalog.hashing import HashCache, sha256_file
from mend.core.catalog.source_policy import DownloadPolicy
from mend.core.download.engine import DownloadRunner
from mend.core.download.run import LocalContext, run_with_retries
from mend.core.host_standalone import StandaloneHost
from mend.core.tasks.task_api import PermanentTaskError, RetryableTaskError, classify_failure

from ..hf_server import FakeHub, safetensors_bytes, served_hub

CHUNK = 64 * 1024


class RecordingHost(StandaloneHost):
    def __init__(self, root: Path, listen: list[str] | None = None) -> None:
        super().__init__(root)
        self.changed: list[str] = []
        self._listen = listen or []

    def models_changed(self, folder: str) -> None:
        self.changed.append(folder)

    def listen_addresses(self) -> list[str]:
        return self._listen


@pytest.fixture
async def hub(aiohttp_server):
    return await served_hub(aiohttp_server)


def make_runner(comfy_dir: Path, hub: FakeHub, **kwargs) -> DownloadRunner:
    policy = DownloadPolicy(hf_endpoint=hub.endpoint, allow_http_loopback=True,
                            extra_hosts=kwargs.pop("extra_hosts", ()))
    host = kwargs.pop("host", None) or RecordingHost(comfy_dir)
    return DownloadRunner(host, hashes=HashCache(None), policy=policy, chunk_size=CHUNK, **kwargs)


def big_safetensors(size: int, seed: int = 1) -> bytes:
    return safetensors_bytes(size, seed)


def params(hub: FakeHub, path: str = "x.safetensors", repo: str = "acme/models", **extra) -> dict:
    return {"url": f"https://huggingface.co/{repo}/resolve/main/{path}", "folder": "loras",
            "relpath": path.rsplit("/", 1)[-1], **extra}


async def test_download_verifies_and_places(comfy_dir: Path, hub: FakeHub) -> None:
    data = big_safetensors(300_000)
    entry = hub.add_file("acme/models", "split/x.safetensors", data)
    runner = make_runner(comfy_dir, hub)
    ctx = LocalContext("t1")
    result = await runner.run(params(hub, "split/x.safetensors"), ctx)
    final = comfy_dir / "models" / "loras" / "x.safetensors"
    assert final.read_bytes() == data
    assert result["sha256"] == entry.sha256 and result["verified"] is True  # from X-Linked-Etag
    assert not final.with_name("x.safetensors.part").exists()
    assert runner.host.changed == ["loras"]
    assert runner.hashes.cached(final) == entry.sha256
    assert ctx.checkpoint_state["expected_sha256"] == entry.sha256


async def test_connection_cut_resumes_without_refetching(comfy_dir: Path, hub: FakeHub) -> None:
    data = big_safetensors(1_000_000)
    hub.add_file("acme/models", "x.safetensors", data)
    hub.fault("x.safetensors", "cut", at=500_000)
    runner = make_runner(comfy_dir, hub)
    ctx = LocalContext("t1")
    with pytest.raises(RetryableTaskError):
        await runner.run(params(hub), ctx)
    part = comfy_dir / "models" / "loras" / "x.safetensors.part"
    assert part.stat().st_size == 500_000  # everything received was kept
    assert not (comfy_dir / "models" / "loras" / "x.safetensors").exists()
    ctx.attempt = 2
    result = await runner.run(params(hub), ctx)
    assert result["sha256"] == hashlib.sha256(data).hexdigest()
    assert hub.sent["x.safetensors"] - len(data) <= CHUNK  # re-fetched at most one chunk
    ranges = [r for (_, path, r, _) in hub.requests if path.startswith("/cdn/")]
    assert ranges == [None, "bytes=500000-"]


async def test_restart_resumes_from_part_and_hashes_it(comfy_dir: Path, hub: FakeHub) -> None:
    """A new runner (a restarted process) finds the part it wrote, hashes it once and fetches only the rest."""
    data = big_safetensors(400_000)
    entry = hub.add_file("acme/models", "x.safetensors", data)
    hub.fault("x.safetensors", "cut", at=123_456)
    with pytest.raises(RetryableTaskError):
        await make_runner(comfy_dir, hub).run(params(hub), LocalContext("t0"))
    part = comfy_dir / "models" / "loras" / "x.safetensors.part"
    kept = part.stat().st_size
    result = await make_runner(comfy_dir, hub).run(params(hub), LocalContext("t1"))
    assert result["sha256"] == entry.sha256
    ranges = [r for (_, path, r, _) in hub.requests if path.startswith("/cdn/")]
    assert ranges == [None, f"bytes={kept}-"]


async def test_hash_mismatch_fails_permanently_and_leaves_nothing(comfy_dir: Path, hub: FakeHub) -> None:
    hub.add_file("acme/models", "x.safetensors", big_safetensors(200_000))
    hub.fault("x.safetensors", "corrupt")
    runner = make_runner(comfy_dir, hub)
    with pytest.raises(PermanentTaskError) as info:
        await run_with_retries(runner, params(hub), LocalContext("t1"), attempts=3, backoff=0)
    failure = classify_failure(info.value)
    assert failure.code == "hash_mismatch" and failure.retryable is False
    assert list((comfy_dir / "models" / "loras").iterdir()) == []
    assert len([r for r in hub.requests if r[1].startswith("/cdn/")]) == 1  # not retried


async def test_workflow_hash_is_checked_for_non_lfs_files(comfy_dir: Path, hub: FakeHub) -> None:
    hub.add_file("acme/models", "x.safetensors", big_safetensors(1000), lfs=False)
    runner = make_runner(comfy_dir, hub)
    with pytest.raises(PermanentTaskError, match="does not match"):
        await runner.run(params(hub, sha256="ab" * 32), LocalContext("t1"))
    assert list((comfy_dir / "models" / "loras").iterdir()) == []


@pytest.mark.parametrize("fault", [{"kind": "status", "status": 500},
                                   {"kind": "status", "status": 429, "retry_after": "0"}])
async def test_429_and_500_retry_by_themselves(comfy_dir: Path, hub: FakeHub, fault: dict) -> None:
    data = big_safetensors(50_000)
    hub.add_file("acme/models", "x.safetensors", data)
    hub.fault("x.safetensors", times=2, **fault)
    ctx = LocalContext("t1")
    result = await run_with_retries(make_runner(comfy_dir, hub), params(hub), ctx, backoff=0)
    assert ctx.attempt == 3 and result["size"] == len(data)


async def test_retry_after_is_reported(comfy_dir: Path, hub: FakeHub) -> None:
    hub.add_file("acme/models", "x.safetensors", big_safetensors(1000))
    hub.fault("x.safetensors", "status", status=429, retry_after="7")
    with pytest.raises(RetryableTaskError) as info:
        await make_runner(comfy_dir, hub).run(params(hub), LocalContext("t1"))
    assert info.value.retry_after == 7


async def test_invalid_safetensors_is_removed(comfy_dir: Path, hub: FakeHub) -> None:
    hub.add_file("acme/models", "x.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!", lfs=False)
    with pytest.raises(PermanentTaskError) as info:
        await make_runner(comfy_dir, hub).run(params(hub), LocalContext("t1"))
    assert info.value.code == "invalid_file"
    assert list((comfy_dir / "models" / "loras").iterdir()) == []


async def test_lying_content_length(comfy_dir: Path, hub: FakeHub) -> None:
    hub.add_file("acme/models", "x.safetensors", big_safetensors(100_000), lfs=False)
    hub.fault("x.safetensors", "lie_length", times=10)
    with pytest.raises(PermanentTaskError) as info:
        await run_with_retries(make_runner(comfy_dir, hub), params(hub), LocalContext("t1"), backoff=0)
    assert info.value.code == "inconsistent_server"
    assert list((comfy_dir / "models" / "loras").iterdir()) == []


async def test_a_size_recorded_elsewhere_is_not_blamed_on_the_source(comfy_dir: Path, hub: FakeHub) -> None:
    """``mend sync`` passes the manifest's size: a file of another size is named as such, not as the source's word."""
    hub.add_file("acme/models", "x.safetensors", big_safetensors(100_000), lfs=False)
    with pytest.raises(PermanentTaskError) as info:
        await run_with_retries(make_runner(comfy_dir, hub), params(hub, size=86), LocalContext("t1"), backoff=0)
    assert "but 86 were expected (the size recorded for it); it was removed" in info.value.message
    assert "the source said" not in info.value.message
    assert list((comfy_dir / "models" / "loras").iterdir()) == []


async def test_full_disk_is_refused_before_any_byte(comfy_dir: Path, hub: FakeHub) -> None:
    hub.add_file("acme/models", "x.safetensors", big_safetensors(100_000))
    runner = make_runner(comfy_dir, hub, free_space=lambda p: 1000)
    with pytest.raises(PermanentTaskError) as info:
        await runner.run(params(hub), LocalContext("t1"))
    assert info.value.code == "disk_full" and "not enough disk space" in info.value.message
    assert list((comfy_dir / "models" / "loras").iterdir()) == []  # not even a .part


async def test_redirect_to_disallowed_host_is_refused(comfy_dir: Path, hub: FakeHub) -> None:
    hub.add_file("acme/models", "x.safetensors", big_safetensors(1000))
    port = hub.server.port
    hub.fault("x.safetensors", "redirect", location=f"http://127.0.0.2:{port}/cdn/x")
    with pytest.raises(PermanentTaskError) as info:
        await make_runner(comfy_dir, hub).run(params(hub), LocalContext("t1"))
    assert info.value.code == "task_permanent" and "127.0.0.2 is not an allowed download host" in info.value.message
    assert list((comfy_dir / "models" / "loras").iterdir()) == []


async def test_token_never_follows_a_redirect_to_another_host(comfy_dir: Path, hub: FakeHub, monkeypatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    data = big_safetensors(1000)
    hub.add_file("acme/gated", "x.safetensors", data, gated_token="hf_secret")
    # the CDN hop goes to "localhost" (another host name for the same loopback server)
    hub.fault("x.safetensors", "redirect", location=f"http://localhost:{hub.server.port}/cdn/"
              + hashlib.sha256(data).hexdigest())
    runner = make_runner(comfy_dir, hub, extra_hosts=("localhost",))
    await runner.run(params(hub, repo="acme/gated"), LocalContext("t1"))
    auth = {path.split("?")[0]: a for (_, path, _, a) in hub.requests}
    assert auth["/acme/gated/resolve/main/x.safetensors"] == "Bearer hf_secret"
    # same host: the token goes along; the hop to "localhost" (the injected redirect) gets none
    cdn = [a for (_, path, _, a) in hub.requests if path.startswith("/cdn/")]
    assert cdn == ["Bearer hf_secret", None]


async def test_existing_final_file_is_never_overwritten(comfy_dir: Path, hub: FakeHub) -> None:
    final = comfy_dir / "models" / "loras" / "x.safetensors"
    final.write_bytes(b"mine")
    hub.add_file("acme/models", "x.safetensors", big_safetensors(1000))
    with pytest.raises(PermanentTaskError):
        await make_runner(comfy_dir, hub).run(params(hub, sha256="cd" * 32), LocalContext("t1"))
    assert final.read_bytes() == b"mine"
    with pytest.raises(PermanentTaskError, match="differs from the source's"):  # Hugging Face's own sha256
        await make_runner(comfy_dir, hub).run(params(hub), LocalContext("t1"))
    ok = await make_runner(comfy_dir, hub).run(params(hub, on_existing="keep"), LocalContext("t1"))
    assert ok["status"] == "present" and ok["kept"] is True and final.read_bytes() == b"mine"


async def test_cancel_cleanup_removes_part(comfy_dir: Path, hub: FakeHub) -> None:
    runner = make_runner(comfy_dir, hub)
    part = comfy_dir / "models" / "loras" / "x.safetensors.part"
    part.write_bytes(b"partial")
    await runner.cleanup(params(hub), {})
    assert not part.exists()


async def test_subfolder_and_checkpoint_file_resume(comfy_dir: Path, hub: FakeHub) -> None:
    """The CLI path: checkpoints in a side file carry the ETag to the next run (If-Range)."""
    data = big_safetensors(300_000)
    hub.add_file("acme/models", "x.safetensors", data)
    hub.fault("x.safetensors", "cut", at=100_000)
    runner = make_runner(comfy_dir, hub)
    p = {**params(hub), "relpath": "sub/dir/x.safetensors"}
    state = comfy_dir / "state.json"
    with pytest.raises(RetryableTaskError):
        await runner.run(p, LocalContext("a", state))
    ctx = LocalContext("b", state)
    assert ctx.checkpoint_state["etag"]
    await runner.run(p, ctx)
    final = comfy_dir / "models" / "loras" / "sub" / "dir" / "x.safetensors"
    assert sha256_file(final) == hashlib.sha256(data).hexdigest()
    if_range = [r for r in hub.requests if r[2]]
    assert if_range and if_range[-1][2] == "bytes=100000-"
    assert os.path.getsize(final) == len(data)


async def test_through_the_task_manager(comfy_dir: Path, hub: FakeHub, tmp_path: Path) -> None:
    """The real manager: a 500 and a 429 are retried by it; a hash mismatch fails at once, not retryable."""
    from mend.core.tasks.manager import TaskManager

    good, bad = big_safetensors(100_000, 1), big_safetensors(100_000, 2)
    hub.add_file("acme/models", "good.safetensors", good)
    hub.add_file("acme/models", "bad.safetensors", bad)
    hub.fault("good.safetensors", "status", status=500)
    hub.fault("good.safetensors", "status", status=429, retry_after="0")
    hub.fault("bad.safetensors", "corrupt")
    manager = TaskManager(tmp_path / "state", backoff=(0.01, 0.05))
    manager.register(make_runner(comfy_dir, hub))
    try:
        ok = await manager.submit("download", params(hub, "good.safetensors"))
        ko = await manager.submit("download", params(hub, "bad.safetensors"))
        ok, ko = await manager.wait(ok.id, timeout=30), await manager.wait(ko.id, timeout=30)
    finally:
        await manager.close()
    assert ok.state == "completed" and ok.attempt == 3, ok.to_json()
    assert (comfy_dir / "models" / "loras" / "good.safetensors").read_bytes() == good
    assert ko.state == "failed" and ko.attempt == 1
    assert ko.error["code"] == "hash_mismatch" and ko.error["retryable"] is False
    assert not (comfy_dir / "models" / "loras" / "bad.safetensors").exists()
    assert not (comfy_dir / "models" / "loras" / "bad.safetensors.part").exists()
