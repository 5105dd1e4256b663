"""A file already under a download's name is that download only when Mend can tell (finding E7).

Otherwise the task fails ``file_exists`` without a byte fetched, and the user keeps, renames or replaces.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mend.core.decide.manifest import Manifest
from mend.core.download.engine import TargetExists
from mend.core.download.run import LocalContext
from mend.core.tasks.task_api import PermanentTaskError, classify_failure

from ..hf_server import FakeHub
from .test_download import big_safetensors, hub, make_runner, params  # noqa: F401  (hub: fixture)


def loras(comfy_dir: Path) -> Path:
    return comfy_dir / "models" / "loras"


def plain_link(hub: FakeHub, data: bytes, name: str = "x.safetensors", repo: str = "other/files") -> str:
    """A link that is no Hugging Face ``resolve`` URL (the hub's CDN path on loopback): no LFS metadata."""
    entry = hub.add_file(repo, name, data)
    return f"{hub.endpoint}/cdn/{entry.sha256}?name={name}"


async def test_another_file_under_the_name_is_a_conflict_and_nothing_is_fetched(comfy_dir: Path, hub: FakeHub):
    old = big_safetensors(50_000, seed=1)
    (loras(comfy_dir) / "x.safetensors").write_bytes(old)
    url = plain_link(hub, big_safetensors(4_000, seed=2))
    with pytest.raises(TargetExists) as caught:
        await make_runner(comfy_dir, hub).run({"url": url, "folder": "loras", "relpath": "x.safetensors"},
                                              LocalContext("t"))
    failure = classify_failure(caught.value)
    assert failure.code == "file_exists" and not failure.retryable
    assert "cannot tell it is the same file" in failure.message and "x-cdn.safetensors" in failure.message
    assert hub.requests == []  # not one request
    assert (loras(comfy_dir) / "x.safetensors").read_bytes() == old
    assert sorted(p.name for p in loras(comfy_dir).iterdir()) == ["x.safetensors"]


async def test_a_size_the_source_announced_is_named(comfy_dir: Path, hub: FakeHub):
    (loras(comfy_dir) / "x.safetensors").write_bytes(big_safetensors(50_000))
    url = plain_link(hub, big_safetensors(4_000, seed=2))
    with pytest.raises(TargetExists, match=r"holds 50[0-9]+ bytes where the source sends 4"):
        await make_runner(comfy_dir, hub).run({"url": url, "folder": "loras", "relpath": "x.safetensors",
                                               "size": 4096}, LocalContext("t"))


async def test_hugging_face_lfs_sha256_tells_same_from_different(comfy_dir: Path, hub: FakeHub):
    same = big_safetensors(30_000, seed=3)
    hub.add_file("acme/models", "x.safetensors", same)
    final = loras(comfy_dir) / "x.safetensors"
    final.write_bytes(same)
    result = await make_runner(comfy_dir, hub).run(params(hub), LocalContext("t"))
    assert result["status"] == "present" and result["verified"] is True and "sha256 matches" in result["why"]
    assert hub.sent["x.safetensors"] == 0  # the first answer's X-Linked-Etag, no body
    final.write_bytes(big_safetensors(30_000, seed=4))
    with pytest.raises(TargetExists, match="differs from the source's"):
        await make_runner(comfy_dir, hub).run(params(hub), LocalContext("t"))


async def test_the_manifest_record_of_this_source_and_size_counts(comfy_dir: Path, hub: FakeHub, tmp_path: Path):
    manifest = Manifest(tmp_path / "mend" / "pyproject.toml")
    data = big_safetensors(20_000, seed=5)
    url = plain_link(hub, data)
    job = {"url": url, "folder": "loras", "relpath": "x.safetensors"}
    first = await make_runner(comfy_dir, hub, manifest=manifest).run(job, LocalContext("t"))
    assert first["status"] == "downloaded" and first["recorded"] is True
    sent = hub.sent["x.safetensors"]
    again = await make_runner(comfy_dir, hub, manifest=manifest).run(job, LocalContext("t"))
    assert again["status"] == "present" and again["verified"] is True
    assert hub.sent["x.safetensors"] == sent
    # the manifest's digest for this URL is checked too: a file changed behind Mend's back is a conflict
    (loras(comfy_dir) / "x.safetensors").write_bytes(big_safetensors(20_000, seed=6))
    with pytest.raises(TargetExists, match="differs"):
        await make_runner(comfy_dir, hub, manifest=manifest).run(job, LocalContext("t"))
    other = plain_link(hub, big_safetensors(20_000, seed=7), repo="someone/else")
    with pytest.raises(TargetExists):
        await make_runner(comfy_dir, hub, manifest=manifest).run({**job, "url": other}, LocalContext("t"))
    manifest.close()


async def test_keep_says_the_user_vouched_and_records_the_source(comfy_dir: Path, hub: FakeHub, tmp_path: Path):
    manifest = Manifest(tmp_path / "mend" / "pyproject.toml")
    old = big_safetensors(10_000, seed=1)
    (loras(comfy_dir) / "x.safetensors").write_bytes(old)
    url = plain_link(hub, big_safetensors(4_000, seed=2))
    result = await make_runner(comfy_dir, hub, manifest=manifest).run(
        {"url": url, "folder": "loras", "relpath": "x.safetensors", "on_existing": "keep"}, LocalContext("t"))
    assert result["status"] == "present" and result["kept"] is True and result["verified"] is False
    assert hub.requests == [] and (loras(comfy_dir) / "x.safetensors").read_bytes() == old
    assert url in manifest.models()["loras/x.safetensors"]["sources"]
    manifest.close()


async def test_replace_moves_the_old_file_aside_only_once_the_new_one_is_verified(comfy_dir: Path, hub: FakeHub):
    old, new = big_safetensors(10_000, seed=1), big_safetensors(12_000, seed=2)
    final = loras(comfy_dir) / "x.safetensors"
    final.write_bytes(old)
    hub.add_file("acme/models", "x.safetensors", new)
    hub.fault("x.safetensors", "corrupt")
    with pytest.raises(PermanentTaskError):  # the new bytes fail their sha256: the old file stays
        await make_runner(comfy_dir, hub).run(params(hub, on_existing="replace"), LocalContext("t"))
    assert final.read_bytes() == old and sorted(p.name for p in loras(comfy_dir).iterdir()) == ["x.safetensors"]
    result = await make_runner(comfy_dir, hub).run(params(hub, on_existing="replace"), LocalContext("t"))
    assert result["status"] == "downloaded" and result["replaced"] == "x.safetensors.replaced"
    assert final.read_bytes() == new and (loras(comfy_dir) / "x.safetensors.replaced").read_bytes() == old


async def test_on_existing_is_keep_or_replace(comfy_dir: Path, hub: FakeHub):
    with pytest.raises(PermanentTaskError, match="on_existing"):
        await make_runner(comfy_dir, hub).run(params(hub, on_existing="rename"), LocalContext("t"))
