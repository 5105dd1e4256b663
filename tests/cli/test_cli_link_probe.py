"""The installed ``mend`` command asks a link what it would send before it decides or downloads from it.

``mend resolve --yes`` leaves open a model whose workflow link needs a login (one line, the host named),
downloads one whose link is usable and prints its size and name; a pasted URL that answers with a web page
is refused at the prompt and asked again, all against a loopback file host.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from ..link_server import FILE

MEND = Path(sys.executable).parent / "mend"


def loader(node_id: int, name: str, url: str) -> dict:
    return {"id": node_id, "type": "LoraLoader", "mode": 0, "widgets_values": [name, 1.0, 1.0],
            "properties": {"models": [{"name": name, "url": url, "directory": "loras"}]}}


async def mend(comfy_dir: Path, catalog: Path, tmp_path: Path, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    env = {**os.environ, "MEND_TEST_ALLOW_HTTP_LOOPBACK": "1", "MEND_DOWNLOAD_HOSTS": "127.0.0.1",
           "MEND_REGISTRY_URL": "", "MEND_CACHE_DIR": str(tmp_path / "cache"), "MEND_OFFLINE": "1"}
    proc = await asyncio.create_subprocess_exec(
        str(MEND), *argv, "--comfyui", str(comfy_dir), "--catalog-dir", str(catalog), "--no-registry",
        "--manifest", str(tmp_path / "state" / "pyproject.toml"), env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 300)
    return proc.returncode, out.decode(), err.decode()


async def test_resolve_yes_downloads_a_usable_link_and_leaves_a_login_open(links, comfy_dir, small_catalog, tmp_path):
    wf = tmp_path / "links.json"
    wf.write_text(json.dumps({"version": 0.4, "links": [], "nodes": [
        loader(1, "ok.safetensors", links.base + "/files/ok.safetensors"),
        loader(2, "locked.safetensors", links.base + "/login/locked.safetensors")]}))
    code, out, err = await mend(comfy_dir, small_catalog, tmp_path, "resolve", str(wf), "--yes")
    assert code == 1, out + err  # the locked one is still open
    assert "  link: ok.safetensors, 4.1 KB, resumable" in out, out
    assert (comfy_dir / "models" / "loras" / "ok.safetensors").read_bytes() == FILE
    left = [line for line in err.splitlines() if line.startswith("left open:")]
    assert len(left) == 1 and "locked.safetensors" in left[0] and "127.0.0.1 needs a login (HTTP 401)" in left[0]
    assert not (comfy_dir / "models" / "loras" / "locked.safetensors").exists()
    assert "Traceback" not in err
    assert links.downloads("/login") == 0


async def test_a_pasted_web_page_is_refused_at_the_prompt(links, comfy_dir, small_catalog, tmp_path):
    wf = tmp_path / "paste.json"
    wf.write_text(json.dumps({"version": 0.4, "links": [], "nodes": [
        {"id": 1, "type": "LoraLoader", "mode": 0, "widgets_values": ["mine.safetensors", 1.0, 1.0]}]}))
    answers = f"{links.base}/page/mine.safetensors\n{links.base}/files/mine.safetensors\n"
    code, out, err = await mend(comfy_dir, small_catalog, tmp_path, "resolve", str(wf), "--no-fetch", stdin=answers)
    assert "answers with a web page, not a file" in err and "try again" in err, out + err
    assert "  link: mine.safetensors, 4.1 KB, resumable" in out, out
    stored = json.loads(wf.read_text())["nodes"][0]["widgets_values"][0]
    assert stored == "mine.safetensors" and code == 0  # decided from the usable link (--no-fetch: not fetched)
    assert links.downloads() == 0
