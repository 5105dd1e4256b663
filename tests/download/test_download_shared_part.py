"""One writer per ``.part``: two downloads of one file (a panel task and an Ensure Model node) never share it."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from pathlib import Path

import pytest

from mend.core.download.run import LocalContext
from mend.core.tasks.task_api import PermanentTaskError

from ..hf_server import FakeHub
from .test_download import big_safetensors, hub, make_runner, params  # noqa: F401  (hub: fixture)


def loras(comfy_dir: Path) -> Path:
    return comfy_dir / "models" / "loras"


async def first_download(comfy_dir: Path, hub: FakeHub, size: int, who: str) -> tuple[asyncio.Task, bytes, str]:
    """A trickled download of x.safetensors, returned once its .part exists: (its task, the data, its sha256)."""
    data = big_safetensors(size)
    entry = hub.add_file("acme/models", "x.safetensors", data)
    hub.fault("x.safetensors", "trickle", piece=32 * 1024, delay=0.01)
    task = asyncio.create_task(make_runner(comfy_dir, hub).run(params(hub), LocalContext(who)))
    while not (loras(comfy_dir) / "x.safetensors.part").exists():
        await asyncio.sleep(0.005)
    return task, data, entry.sha256


async def test_two_downloads_of_one_file_make_one_transfer(comfy_dir: Path, hub: FakeHub) -> None:
    """The second (on another thread and loop, as ComfyUI's prompt worker) waits, then finds the file."""
    first, data, sha = await first_download(comfy_dir, hub, 1_000_000, "panel")
    node_ctx = LocalContext("node")
    outcome: dict = {}

    def node_thread() -> None:
        outcome["result"] = asyncio.run(make_runner(comfy_dir, hub).run(params(hub), node_ctx))

    worker = threading.Thread(target=node_thread)
    worker.start()
    done = await first
    await asyncio.to_thread(worker.join)
    assert done["status"] == "downloaded" and outcome["result"]["status"] == "present"
    assert node_ctx.steps == ["waiting for another download of this file"]
    assert hub.sent["x.safetensors"] == len(data)  # one transfer, not two
    final = loras(comfy_dir) / "x.safetensors"
    assert hashlib.sha256(final.read_bytes()).hexdigest() == sha
    assert sorted(p.name for p in loras(comfy_dir).iterdir()) == ["x.safetensors"]  # no part, no lock left


async def test_a_cancelled_waiter_leaves_the_writers_part_alone(comfy_dir: Path, hub: FakeHub) -> None:
    writer, _data, sha = await first_download(comfy_dir, hub, 600_000, "node")
    part = loras(comfy_dir) / "x.safetensors.part"
    waiter_runner = make_runner(comfy_dir, hub)
    waiter = asyncio.create_task(waiter_runner.run(params(hub), LocalContext("panel")))
    await asyncio.sleep(0.1)
    waiter.cancel()  # the user cancels the panel's task: the manager then runs its cleanup
    await asyncio.gather(waiter, return_exceptions=True)
    await waiter_runner.cleanup(params(hub), {})
    assert part.exists()  # still the writer's
    result = await writer
    final = loras(comfy_dir) / "x.safetensors"
    assert result["status"] == "downloaded" and result["sha256"] == sha
    assert hashlib.sha256(final.read_bytes()).hexdigest() == sha


async def test_a_failed_download_leaves_no_lock_file(comfy_dir: Path, hub: FakeHub) -> None:
    hub.add_file("acme/models", "x.safetensors", big_safetensors(100_000))
    hub.fault("x.safetensors", "corrupt")
    runner = make_runner(comfy_dir, hub)
    with pytest.raises(PermanentTaskError):
        await runner.run(params(hub), LocalContext("t"))
    assert list(loras(comfy_dir).iterdir()) == []
