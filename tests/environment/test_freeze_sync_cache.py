"""Sync with a shared model cache: N machines download once; files are linked, never copied.

Also: a Hugging Face cache (``models--*/blobs/<sha256>``) counts as a cache, a damaged cached copy is
never linked, what sync must not touch (a different file under a model's name) is reported, and a
model with no source is reported as unavailable.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from mend.core.catalog.source_policy import DownloadPolicy
from mend.core.environment.freeze import Frozen, FrozenModel, write_frozen
from mend.core.environment.shared_cache import SharedCache
from mend.core.environment.sync import finish_sync, load_manifest, plan_sync, start_sync

from ..hf_server import FakeHub, safetensors_bytes, served_hub

FILES = {"checkpoints/base.safetensors": safetensors_bytes(4096, seed=3),
         "loras/x/ink.safetensors": safetensors_bytes(2048, seed=4)}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
async def hub(aiohttp_server):
    return await served_hub(aiohttp_server, tuple(("acme/models", rel, data) for rel, data in FILES.items()))


def manifest_for(tmp_path: Path, hub: FakeHub, extra: list[FrozenModel] = ()) -> Path:
    models = [FrozenModel(rel.split("/")[0], rel.split("/", 1)[1], len(d), sha(d),
                          (f"{hub.url}/acme/models/resolve/main/{rel}",)) for rel, d in FILES.items()]
    path = tmp_path / "manifest.toml"
    write_frozen(Frozen(models=[*models, *extra]), path)
    return path


def machine(root: Path, mend_for, catalog: Path, hub: FakeHub):
    for sub in ("checkpoints", "loras"):
        (root / "models" / sub).mkdir(parents=True)
    (root / "custom_nodes").mkdir()
    mend = mend_for(root, catalog)
    mend.extras["download_policy"] = DownloadPolicy(hf_endpoint=hub.url, allow_http_loopback=True)
    return mend


async def sync(mend, manifest: Path, cache: Path | None):
    plan = await plan_sync(mend, load_manifest(manifest), shared_cache=cache)
    await start_sync(mend, plan)
    await finish_sync(mend, plan)
    await mend.close()
    return plan


async def test_two_machines_download_once_and_hardlink(tmp_path, hub, small_catalog, mend_for):
    manifest = manifest_for(tmp_path, hub)
    cache = tmp_path / "shared"
    first = await sync(machine(tmp_path / "m1", mend_for, small_catalog, hub), manifest, cache)
    assert first.ok and sorted(i.outcome for i in first.items) == ["downloaded", "downloaded"]
    sent = dict(hub.sent)

    second = await sync(machine(tmp_path / "m2", mend_for, small_catalog, hub), manifest, cache)
    assert second.ok and [i.action for i in second.items] == ["link", "link"]
    assert sorted(i.outcome for i in second.items) == ["linked", "linked"]
    assert dict(hub.sent) == sent  # the second machine downloaded nothing
    for rel, data in FILES.items():
        blob = SharedCache(cache).find(sha(data))
        for m in ("m1", "m2"):
            final = tmp_path / m / "models" / rel
            assert final.read_bytes() == data and not final.is_symlink()
            assert os.stat(final).st_ino == os.stat(blob).st_ino  # a hard link: one copy on disk
        assert not os.access(blob, os.W_OK) or os.geteuid() == 0  # sealed read-only
        assert not (blob.stat().st_mode & 0o222)


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="needs a second file system (/dev/shm)")
async def test_cache_on_another_file_system_is_symlinked(tmp_path, hub, small_catalog, mend_for):
    import tempfile

    with tempfile.TemporaryDirectory(dir="/dev/shm") as other:
        if os.stat(other).st_dev == os.stat(tmp_path).st_dev:
            pytest.skip("/dev/shm is on the same file system here")
        plan = await sync(machine(tmp_path / "m", mend_for, small_catalog, hub), manifest_for(tmp_path, hub),
                          Path(other))
        assert plan.ok
        for rel, data in FILES.items():
            final = tmp_path / "m" / "models" / rel
            assert final.is_symlink() and Path(os.readlink(final)).is_relative_to(other)
            assert final.read_bytes() == data
            Path(os.readlink(final)).chmod(0o644)  # let the temp dir go


async def test_huggingface_cache_blobs_are_used(tmp_path, hub, small_catalog, mend_for):
    cache = tmp_path / "hf-cache"
    data = FILES["checkpoints/base.safetensors"]
    blob = cache / "models--acme--models" / "blobs" / sha(data)
    blob.parent.mkdir(parents=True)
    blob.write_bytes(data)
    plan = await sync(machine(tmp_path / "m", mend_for, small_catalog, hub), manifest_for(tmp_path, hub), cache)
    assert plan.ok
    by_name = {i.name: i for i in plan.items}
    assert by_name["checkpoints/base.safetensors"].outcome == "linked"
    assert "checkpoints/base.safetensors" not in hub.sent and "loras/x/ink.safetensors" in hub.sent


async def test_damaged_cached_copy_is_fetched_again(tmp_path, hub, small_catalog, mend_for):
    cache = SharedCache(tmp_path / "shared")
    data = FILES["loras/x/ink.safetensors"]
    bad = cache.root / cache.blob_relpath(sha(data), "ink.safetensors")
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"\0" * len(data))
    plan = await sync(machine(tmp_path / "m", mend_for, small_catalog, hub), manifest_for(tmp_path, hub), cache.root)
    assert plan.ok
    assert (tmp_path / "m" / "models" / "loras" / "x" / "ink.safetensors").read_bytes() == data
    assert hub.sent["loras/x/ink.safetensors"] == len(data)


async def test_conflicts_and_unavailable_are_reported_and_untouched(tmp_path, hub, small_catalog, mend_for):
    orphan = FrozenModel("loras", "nowhere.safetensors", 10, "a" * 64, ())
    manifest = manifest_for(tmp_path, hub, [orphan])
    mend = machine(tmp_path / "m", mend_for, small_catalog, hub)
    squatter = tmp_path / "m" / "models" / "checkpoints" / "base.safetensors"
    squatter.write_bytes(b"someone else's file")
    plan = await sync(mend, manifest, None)
    by_name = {i.name: i for i in plan.items}
    assert by_name["checkpoints/base.safetensors"].action == "conflict"
    assert by_name["loras/nowhere.safetensors"].action == "unavailable"
    assert by_name["loras/x/ink.safetensors"].outcome == "downloaded"
    assert not plan.ok and squatter.read_bytes() == b"someone else's file"
    assert "checkpoints/base.safetensors" not in hub.sent
