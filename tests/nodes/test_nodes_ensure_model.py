"""Ensure Model against the loopback Hugging Face server: download, verify, progress, interrupt, resume."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from mend.core.catalog.source_policy import DownloadPolicy
from mend.core.download.engine import DownloadRunner
from mend.core.download.file_lock import try_lock, unlock
from mend.core.errors import HostNotAllowed, InvalidField
from mend.core.tasks.task_api import PermanentTaskError
from mend.nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS
from mend.nodes.ensure_model import DownloadInterrupted, MendEnsureModel, ensure_model, progress_line
from mend.nodes.model_source import model_url

from ..hf_server import FakeHub, safetensors_bytes, served_hub

REPO_ID = "acme/loras"
PATH = "split/x.safetensors"


@pytest.fixture
async def hub(aiohttp_server) -> FakeHub:
    return await served_hub(aiohttp_server)


@pytest.fixture
def mend(comfy_dir, small_catalog, mend_for):
    return mend_for(comfy_dir, small_catalog)


@pytest.fixture
def runner(hub, mend) -> DownloadRunner:
    """The panel's runner, with the policy a ComfyUI started with HF_ENDPOINT=<hub> would read."""
    return DownloadRunner(mend.host, hashes=mend.hashes,
                          policy=DownloadPolicy(hf_endpoint=hub.endpoint, allow_http_loopback=True))


class Recorder:
    """What the node would show: progress reports and text lines."""

    def __init__(self) -> None:
        self.reports: list[tuple[float, float | None]] = []
        self.texts: list[str] = []

    def report(self, done, total, rate) -> None:
        self.reports.append((done, total))

    def say(self, text: str) -> None:
        self.texts.append(text)


def run(mend, runner, recorder: Recorder, interrupted=lambda: False, name="x.safetensors", **kwargs):
    url = model_url(REPO_ID, PATH)[0]
    return ensure_model(mend, url=url, folder="loras", name=name, interrupted=interrupted,
                        report=recorder.report, say=recorder.say, runner=runner, **kwargs)


def test_sources_become_urls():
    assert model_url("acme/loras", "a b.safetensors", "v1.0") == (
        "https://huggingface.co/acme/loras/resolve/v1.0/a%20b.safetensors", "a b.safetensors")
    assert model_url("hf://acme/loras/x.sft")[0] == "https://huggingface.co/acme/loras/resolve/main/x.sft"
    assert model_url("https://example.com/m/y.safetensors#frag") == ("https://example.com/m/y.safetensors",
                                                                      "y.safetensors")
    for bad in [("", ""), ("acme/loras", ""), ("acme", "x.safetensors"), ("acme/lo ras", "x"),
                ("acme/loras", "../x"), ("https://example.com/", "")]:
        with pytest.raises(InvalidField):
            model_url(*bad)


def test_progress_line_has_percent_speed_and_eta():
    assert progress_line("x.safetensors", 42e6, 100e6, 2e6) == (
        "x.safetensors: 42% · 2.0 MB/s · ETA 0:29 (42.0 / 100.0 MB)")
    assert progress_line("x", 5e6, None, None) == "x: 5.0 MB"
    assert "ETA 1:23:20" in progress_line("x", 0, 10e9, 2e6)


async def test_downloads_verifies_and_reports_to_100_percent(hub, mend, runner, comfy_dir):
    data = safetensors_bytes(3 * 1024 * 1024)
    hub.add_file(REPO_ID, PATH, data)
    rec = Recorder()
    result = await run(mend, runner, rec)
    final = comfy_dir / "models" / "loras" / "x.safetensors"
    assert final.read_bytes() == data and result["verified"] is True
    assert mend.hashes.cached(final) == hashlib.sha256(data).hexdigest()  # Model Info will not hash it again
    assert rec.reports[-1] == (len(data), len(data))
    assert [d for d, _ in rec.reports] == sorted(d for d, _ in rec.reports)
    assert rec.texts[0] == "x.safetensors: starting download" and rec.texts[-1].startswith("✓ x.safetensors")
    assert sorted(p.name for p in final.parent.iterdir()) == ["x.safetensors"]  # no .part, no resume file


async def test_waits_quietly_while_another_download_holds_the_file(hub, mend, runner, comfy_dir):
    """The panel (or the CLI) is downloading the same file: the node says so once, then finds it in place."""
    hub.add_file(REPO_ID, PATH, safetensors_bytes(64))
    final = comfy_dir / "models" / "loras" / "x.safetensors"
    lock = final.with_name(".x.safetensors.mend-lock")
    fd = try_lock(lock)  # the other download
    assert fd is not None
    rec = Recorder()
    node = asyncio.create_task(run(mend, runner, rec))
    while "x.safetensors: waiting for another download of this file" not in rec.texts:
        assert not node.done()
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.6)  # a few watcher rounds: no "0.0 MB" lines while waiting
    data = safetensors_bytes(64)
    final.write_bytes(data)  # the other download puts the file in place and lets go
    unlock(lock, fd)
    result = await asyncio.wait_for(node, 10)
    assert result["status"] == "present" and hub.requests == []
    assert rec.reports == [(len(data), len(data))]  # only the full bar at the end
    assert rec.texts == ["x.safetensors: starting download", "x.safetensors: waiting for another download of this file",
                         "✓ x.safetensors: present"]


async def test_present_file_costs_no_request(hub, mend, runner, comfy_dir):
    hub.add_file(REPO_ID, PATH, safetensors_bytes(64))
    (comfy_dir / "models" / "loras" / "x.safetensors").write_bytes(b"already here")
    rec = Recorder()
    assert (await run(mend, runner, rec))["status"] == "present"
    assert hub.requests == [] and rec.texts == ["✓ x.safetensors is present"]
    with pytest.raises(ValueError, match="sha256"):
        await run(mend, runner, rec, sha256="0" * 64)


async def test_interrupt_keeps_the_part_and_the_next_run_resumes_it(hub, mend, runner, comfy_dir):
    data = safetensors_bytes(2 * 1024 * 1024, seed=3)
    hub.add_file(REPO_ID, PATH, data)
    hub.fault(PATH, "trickle", piece=16 * 1024, delay=0.005)
    final = comfy_dir / "models" / "loras" / "x.safetensors"
    part = final.with_name("x.safetensors.part")
    rec = Recorder()
    with pytest.raises(DownloadInterrupted):
        await run(mend, runner, rec, interrupted=lambda: hub.sent[PATH] > 256 * 1024)
    assert not final.exists() and 0 < part.stat().st_size < len(data)
    assert final.with_name(".x.safetensors.mend-download.json").is_file()
    kept = part.stat().st_size
    assert part.read_bytes() == data[:kept]

    next_prompt = DownloadRunner(mend.host, hashes=mend.hashes, policy=runner.policy)  # nothing kept in memory
    result = await run(mend, next_prompt, Recorder())
    assert final.read_bytes() == data and result["verified"] is True
    ranges = [r for m, p, r, _ in hub.requests if p.startswith("/cdn/")]
    assert ranges[-1] == f"bytes={kept}-"  # nothing already on disk was fetched again
    assert not part.exists()


async def test_a_report_that_raises_stops_the_download_and_keeps_the_part(hub, mend, runner, comfy_dir):
    """ComfyUI's progress hook raises on interrupt: the download is cancelled before the error goes up."""
    hub.add_file(REPO_ID, PATH, safetensors_bytes(2 * 1024 * 1024))
    hub.fault(PATH, "trickle", piece=16 * 1024, delay=0.005)

    class Interrupted(Exception):
        pass

    def report(done, total, rate):
        if hub.sent[PATH] > 128 * 1024:
            raise Interrupted

    with pytest.raises(Interrupted):
        await ensure_model(mend, url=model_url(REPO_ID, PATH)[0], folder="loras", name="x.safetensors",
                           interrupted=lambda: False, report=report, say=lambda t: None, runner=runner)
    sent = hub.sent[PATH]
    await asyncio.sleep(0.1)
    assert hub.sent[PATH] <= sent + 64 * 1024  # the transfer stopped (at most what was in flight)
    assert (comfy_dir / "models" / "loras" / "x.safetensors.part").is_file()


async def test_policy_refusals_and_bad_files_change_nothing(hub, mend, runner, comfy_dir):
    loras = comfy_dir / "models" / "loras"
    with pytest.raises(HostNotAllowed):
        await ensure_model(mend, url="https://evil.example/x.safetensors", folder="loras", name="x.safetensors",
                           interrupted=lambda: False, report=Recorder().report, say=lambda t: None, runner=runner)
    with pytest.raises(InvalidField):
        await run(mend, runner, Recorder(), name="no_extension")
    hub.add_file(REPO_ID, PATH, b"\x00" * 64)  # not a safetensors file
    with pytest.raises(PermanentTaskError):
        await run(mend, runner, Recorder())
    assert list(loras.iterdir()) == []


def test_node_declares_inputs_outputs_and_caching():
    assert NODE_CLASS_MAPPINGS["MendEnsureModel"] is MendEnsureModel
    assert NODE_DISPLAY_NAME_MAPPINGS["MendEnsureModel"] == "Ensure Model (Mend)"
    spec = MendEnsureModel.INPUT_TYPES()
    assert set(spec["required"]) == {"source", "repo_file", "folder", "file_name"}
    assert all(v[1].get("tooltip") for group in spec.values() for v in group.values())
    assert MendEnsureModel.RETURN_TYPES == ("COMBO", "STRING") and MendEnsureModel.CATEGORY == "Mend"
    assert asyncio.iscoroutinefunction(MendEnsureModel.ensure)  # runs on the prompt's loop, interruptible

