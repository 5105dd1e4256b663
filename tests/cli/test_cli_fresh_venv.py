"""The CLI as a new user meets it: a fresh clone, the README's first command, a venv with exactly Mend's
declared dependencies (no numpy, no torch), and ``mend resolve --yes`` downloading one ``.safetensors``
file that two nodes use from a loopback Hugging Face server: fetched once, verified, both widgets rewritten."""

from __future__ import annotations

import asyncio
import json
import subprocess

import pytest

from ..fresh_venv import FORBIDDEN
from ..hf_server import FakeHub, safetensors_bytes, served_hub


def test_the_readme_first_command_runs_on_a_fresh_clone(fresh):
    out = fresh["readme"]
    assert (fresh["clone"] / ".venv" / "bin" / "mend").exists(), out.stderr[-3000:]
    assert out.returncode == 1, out.stderr[-3000:]  # the check worked and found what a run needs
    assert "Seed (rgthree)" in out.stdout and "rgthree's ComfyUI Nodes" in out.stdout
    assert "checkpoints/v1-5-pruned-emaonly-fp16.safetensors" in out.stdout
    assert "loras/lcm-lora-sdv1-5.safetensors" in out.stdout and "3 blocking" in out.stdout
    assert "empty ComfyUI layout at" in out.stderr and "Traceback" not in out.stderr


def test_the_fresh_venv_has_exactly_the_declared_dependencies(fresh):
    python = fresh["clone"] / ".venv" / "bin" / "python"
    for name in FORBIDDEN:
        found = subprocess.run([python, "-c", f"import {name}"], capture_output=True, text=True)
        assert found.returncode != 0 and "No module named" in found.stderr, name
    check = subprocess.run([python, "-m", "pip", "check"], capture_output=True, text=True, env=fresh["env"])
    assert check.returncode == 0, check.stdout


def two_loaders(url: str, name: str) -> dict:
    """Two LoRA loaders naming one file (the Windows way, so resolving rewrites both widgets)."""
    meta = [{"name": f"sd15\\{name}", "url": url, "directory": "loras"}]
    loader = {"type": "LoraLoader", "mode": 0, "properties": {"models": meta}}
    return {"version": 0.4, "links": [], "nodes": [
        {**loader, "id": 1, "widgets_values": [f"sd15\\{name}", 1.0, 1.0]},
        {**loader, "id": 2, "widgets_values": [f"sd15\\{name}", 0.6, 0.6]}]}


@pytest.fixture
async def hub(aiohttp_server) -> FakeHub:
    return await served_hub(aiohttp_server)


async def mend(fresh, hub, *argv: str) -> tuple[int, str, str]:
    env = {**fresh["env"], "HF_ENDPOINT": hub.url, "MEND_TEST_ALLOW_HTTP_LOOPBACK": "1"}
    proc = await asyncio.create_subprocess_exec(str(fresh["clone"] / ".venv" / "bin" / "mend"), *argv, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 300)
    return proc.returncode, out.decode(), err.decode()


async def test_resolve_yes_downloads_a_file_two_nodes_use_once_verifies_it_and_rewrites_both(
        fresh, hub, comfy_dir, tmp_path):
    data = safetensors_bytes(300_000, seed=4)
    hub.add_file("acme/sd15", "ink.safetensors", data)
    wf = tmp_path / "two.json"
    wf.write_text(json.dumps(two_loaders(f"{hub.url}/acme/sd15/resolve/main/ink.safetensors", "ink.safetensors")))

    code, out, err = await mend(fresh, hub, "resolve", str(wf), "--yes", "--comfyui", str(comfy_dir),
                                "--catalog-dir", str(fresh["catalog"]), "--no-registry")
    assert code == 0, out + err
    assert "1 to install or download" in out and "(nodes 1, 2)" in out and "failed" not in err
    gets = [r for r in hub.requests if r[0] == "GET" and r[1].endswith("/ink.safetensors")]
    assert len(gets) == 1
    assert (comfy_dir / "models" / "loras" / "sd15" / "ink.safetensors").read_bytes() == data
    assert not list((comfy_dir / "models" / "loras").rglob("*.part"))
    widgets = [n["widgets_values"] for n in json.loads(wf.read_text())["nodes"]]
    assert widgets == [["sd15/ink.safetensors", 1.0, 1.0], ["sd15/ink.safetensors", 0.6, 0.6]]


async def test_a_broken_safetensors_download_is_refused_without_numpy(fresh, hub, comfy_dir, tmp_path):
    good = safetensors_bytes(4096, seed=1)
    hub.add_file("acme/sd15", "cut.safetensors", good[:-1000])  # the header promises 1000 more bytes
    wf = tmp_path / "cut.json"
    wf.write_text(json.dumps(two_loaders(f"{hub.url}/acme/sd15/resolve/main/cut.safetensors", "cut.safetensors")))

    code, _, err = await mend(fresh, hub, "resolve", str(wf), "--yes", "--comfyui", str(comfy_dir),
                                "--catalog-dir", str(fresh["catalog"]), "--no-registry")
    assert code == 1
    assert ("download failed: loras/sd15/cut.safetensors: cut.safetensors is not a valid safetensors file: the "
            "tensors cover 4096 bytes of data, the file holds 3096 (truncated?); it was removed") in err
    assert "numpy" not in err and not list((comfy_dir / "models" / "loras").rglob("cut.safetensors*"))

