"""The installed ``mend resolve``: a pasted link whose file name another file already holds is asked.

Finding E7 from a terminal: the answer to the model's question is a link; ``loras/fake-lora.safetensors``
already exists with other bytes, so ``mend`` asks keep / save as new / replace before a byte is fetched,
and carries out the answer (here: the new file beside the old one, the workflow naming it).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from ..hf_server import FakeHub, safetensors_bytes, served_hub

MEND = Path(sys.executable).with_name("mend")
OLD, NEW = safetensors_bytes(3_000, seed=1), safetensors_bytes(1_000, seed=2)


@pytest.fixture
async def hub(aiohttp_server) -> FakeHub:
    return await served_hub(aiohttp_server)


async def mend(*argv: str, stdin: str, env: dict[str, str]) -> tuple[int, str, str]:
    """The installed command, without blocking the loop the loopback hub answers on."""
    proc = await asyncio.create_subprocess_exec(str(MEND), *argv, stdin=asyncio.subprocess.PIPE,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                env={**os.environ, **env})
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 180)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_resolve_asks_about_a_taken_name_and_saves_the_new_file_beside_it(
        comfy_dir: Path, small_catalog: Path, tmp_path: Path, hub: FakeHub):
    loras = comfy_dir / "models" / "loras"
    (loras / "fake-lora.safetensors").write_bytes(OLD)
    hub.add_file("plain/files", "other/fake-lora.safetensors", NEW)
    wf = tmp_path / "w.json"
    wf.write_text(json.dumps({"version": 0.4, "links": [], "nodes": [
        {"id": 145, "type": "LoraLoader", "widgets_values": ["Nsfw\\lost.safetensors", 1.0, 1.0]}]}))
    env = {"HF_ENDPOINT": hub.endpoint, "MEND_TEST_ALLOW_HTTP_LOOPBACK": "1", "MEND_REGISTRY_URL": "",
           "MEND_CACHE_DIR": str(tmp_path / "cache"), "MEND_OFFLINE": "1"}
    argv = ["resolve", str(wf), "--comfyui", str(comfy_dir), "--catalog-dir", str(small_catalog),
            "--manifest", str(tmp_path / "state" / "pyproject.toml"), "--no-registry"]
    url = f"{hub.endpoint}/files/other/fake-lora.safetensors"

    # "x" is no answer to the follow-up: the model's question comes again; then the link and "n"
    code, out, err = await mend(*argv, stdin=f"{url}\nx\n{url}\nn\n", env=env)
    assert code == 0, out + err
    assert out.count("loras/fake-lora.safetensors already exists (3") == 2
    assert "Mend cannot tell it is the same file" in out
    assert "n) save the new one as fake-lora-other.safetensors" in out
    assert (loras / "fake-lora-other.safetensors").read_bytes() == NEW
    assert (loras / "fake-lora.safetensors").read_bytes() == OLD
    assert json.loads(wf.read_text())["nodes"][0]["widgets_values"][0] == "fake-lora-other.safetensors"
    assert [r for r in hub.requests if r[1] == "/files/other/fake-lora.safetensors"]  # fetched once answered
