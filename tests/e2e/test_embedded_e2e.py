"""A PNG saved by a real ComfyUI 0.8.0 is checked by ``mend check`` exactly like the workflow JSON inside it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

MEND = Path(sys.executable).with_name("mend")

UI_WORKFLOW = {
    "last_node_id": 3, "last_link_id": 1, "version": 0.4,
    "nodes": [
        {"id": 1, "type": "EmptyImage", "mode": 0, "properties": {"cnr_id": "comfy-core", "ver": "0.8.0"},
         "widgets_values": [8, 8, 1, 0]},
        {"id": 2, "type": "SaveImage", "mode": 0, "properties": {"cnr_id": "comfy-core"}, "widgets_values": ["mend"]},
        {"id": 3, "type": "SomePackSampler", "mode": 0, "properties": {"aux_id": "someone/ComfyUI-SomePack"},
         "widgets_values": []},
    ],
    "links": [[1, 1, 0, 2, 0, "IMAGE"]],
}
PROMPT = {
    "1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
    "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "mend-e2e"}},
}


def check(path: Path, comfyui, catalog: str) -> tuple[int, dict]:
    done = subprocess.run([str(MEND), "check", str(path), "--comfyui", str(comfyui.base), "--catalog-dir", catalog,
                           "--no-registry", "--json"], capture_output=True, text=True, timeout=120)
    report = json.loads(done.stdout)
    report.pop("elapsed_ms")
    for catalog in report["catalogs"]:
        catalog.pop("age_seconds")  # whole seconds: two runs may fall on either side of a tick
    return done.returncode, report


def test_a_png_saved_by_comfyui_is_checked_like_its_json(comfyui, e2e_env, tmp_path):
    body = {"prompt": PROMPT, "extra_data": {"extra_pnginfo": {"workflow": UI_WORKFLOW}}}
    status, queued = comfyui.post("/prompt", body)
    assert status == 200, queued
    prompt_id = queued["prompt_id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        _, history = comfyui.get(f"/history/{prompt_id}")
        if prompt_id in (history or {}):
            break
        time.sleep(0.5)
    (image,) = history[prompt_id]["outputs"]["2"]["images"]
    png = comfyui.base / "output" / image["subfolder"] / image["filename"]
    assert png.read_bytes().startswith(b"\x89PNG")
    (tmp_path / "wf.json").write_text(json.dumps(UI_WORKFLOW))
    catalog = e2e_env["MEND_CATALOG_DIR"]
    want = check(tmp_path / "wf.json", comfyui, catalog)
    got = check(png, comfyui, catalog)
    assert got == want
    assert want[0] == 1 and [n["type"] for n in want[1]["missing_nodes"]] == ["SomePackSampler"]
    assert want[1]["missing_nodes"][0]["candidates"][0]["pack"]["repository"] == (
        "https://github.com/someone/comfyui-somepack")
