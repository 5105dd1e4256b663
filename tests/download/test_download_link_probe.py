"""A download task asks a non-Hugging Face link what it would send first, through the real task manager.

A link whose probe fails ends the task at once (one attempt, not retried) with the probe's named error and
nothing in the model folder; a usable link costs one HEAD before the download; a server that answers 5xx
to the probe is still tried (and retried) by the download itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mend.core.catalog.hashing import HashCache
from mend.core.catalog.source_policy import DownloadPolicy
from mend.core.download.engine import DownloadRunner
from mend.core.host_standalone import StandaloneHost
from mend.core.tasks.manager import TaskManager

from ..link_server import FILE, LinkHost

POLICY = DownloadPolicy(allow_http_loopback=True, extra_hosts=("127.0.0.1",))


@pytest.fixture
async def setup(aiohttp_server, comfy_dir: Path, tmp_path: Path):
    links = LinkHost()
    server = await aiohttp_server(links.app())
    manager = TaskManager(tmp_path / "state", backoff=(0.01, 0.05))
    manager.register(DownloadRunner(StandaloneHost(comfy_dir), hashes=HashCache(None), policy=POLICY))
    yield links, str(server.make_url("")).rstrip("/"), manager, comfy_dir / "models" / "loras"
    await manager.close()


async def download(manager: TaskManager, url: str, name: str = "x.safetensors"):
    task = await manager.submit("download", {"url": url, "folder": "loras", "relpath": name})
    return await manager.wait(task.id, timeout=30)


@pytest.mark.parametrize(("path", "code"), [
    ("/login/x.safetensors", "link_needs_login"),
    ("/gone/x.safetensors", "link_not_found"),
    ("/page/x.safetensors", "link_web_page"),
    ("/archive/x.safetensors", "link_wrong_kind"),
    ("/away", "host_not_allowed"),
])
async def test_a_link_that_cannot_work_ends_the_task_at_once(setup, path, code):
    links, base, manager, loras = setup
    task = await download(manager, base + path)
    assert task.state == "failed" and task.attempt == 1, task.to_json()
    assert task.error["code"] == code and task.error["retryable"] is False
    assert links.downloads() == 0  # no download began
    assert list(loras.iterdir()) == []


async def test_a_usable_link_costs_one_head_before_the_download(setup):
    links, base, manager, loras = setup
    task = await download(manager, base + "/files/x.safetensors")
    assert task.state == "completed", task.to_json()
    assert (loras / "x.safetensors").read_bytes() == FILE
    assert [m for m, _, _ in links.requests] == ["HEAD", "GET"]


async def test_a_server_error_at_the_probe_is_left_to_the_download_and_its_retries(setup):
    links, base, manager, loras = setup
    task = await download(manager, base + "/busy/x.safetensors")
    assert task.state == "failed" and task.attempt > 1  # retried by the manager, as before
    assert links.downloads("/busy") > 1 and list(loras.iterdir()) == []
    assert task.error["retryable"] is True


async def test_a_hugging_face_download_is_not_probed(aiohttp_server, comfy_dir: Path):
    """The hub's own API confirms its links: a download from it starts as it did before the probe."""
    from mend.core.download.run import LocalContext

    from ..hf_server import safetensors_bytes, served_hub

    hub = await served_hub(aiohttp_server)
    hub.add_file("acme/models", "h.safetensors", safetensors_bytes(1000))
    runner = DownloadRunner(StandaloneHost(comfy_dir), hashes=HashCache(None),
                            policy=DownloadPolicy(hf_endpoint=hub.endpoint, allow_http_loopback=True))
    await runner.run({"url": "https://huggingface.co/acme/models/resolve/main/h.safetensors", "folder": "loras",
                      "relpath": "h.safetensors"}, LocalContext("hf"))
    assert [r[0] for r in hub.requests] == ["GET", "GET"]  # the resolve hop and the CDN: no HEAD
