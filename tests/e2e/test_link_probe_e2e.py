"""A real ComfyUI asks a link that is not Hugging Face's what it would send before deciding or downloading.

The session's ComfyUI reaches a loopback file host (``tests/link_server.py``, on 127.0.0.1 like the hub, so
the download policy allows it): a login link is refused by name at the decision and at the download with
nothing written; a usable link is decided with its size and file name and then downloaded, the probe
costing one HEAD; a pasted web page is named before any task exists.
"""

from __future__ import annotations

import time

from ..link_server import FILE

GRAPH_ID = "6c1e0000-0000-4000-8000-00000000e2e1"


def graph(name: str) -> dict:
    return {"id": GRAPH_ID, "version": 0.4, "links": [], "nodes": [
        {"id": 1, "type": "LoraLoader", "mode": 0, "widgets_values": [name, 1.0, 1.0]}]}


def wait_task(comfyui, task_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, task = comfyui.get(f"/mend/tasks/{task_id}")
        if task["state"] in ("completed", "failed", "cancelled"):
            return task
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} did not finish")


def test_a_real_comfyui_knows_a_link_before_downloading_from_it(comfyui, links):
    name = "probe-e2e.safetensors"
    decision = {"graph": graph(name), "model": "1/lora_name", "action": "url", "folder": "loras", "path": name}

    status, body = comfyui.post("/mend/decisions", {**decision, "url": f"{links.base}/login/{name}"})
    assert (status, body["error"]["code"]) == (422, "link_needs_login"), body
    assert body["error"]["probe"]["status"] == 401 and "needs a login" in body["error"]["message"]
    _, stored = comfyui.get(f"/mend/decisions?workflow={GRAPH_ID}")
    assert stored["models"] == {}

    status, body = comfyui.post("/mend/models/download", {"url": f"{links.base}/page/{name}", "folder": "loras",
                                                          "filename": name})
    assert (status, body["error"]["code"]) == (422, "link_web_page"), body

    url = f"{links.base}/files/{name}"
    status, body = comfyui.post("/mend/decisions", {**decision, "url": url})
    assert status == 200, body
    assert body["probe"]["outcome"] == "usable" and body["probe"]["size"] == len(FILE)
    assert body["probe"]["filename"] == name and body["probe"]["ranges"] is True

    status, task = comfyui.post("/mend/models/download", {"url": url, "folder": "loras", "filename": name})
    assert status == 202, task
    done = wait_task(comfyui, task["id"])
    assert done["state"] == "completed", done
    assert (comfyui.models / "loras" / name).read_bytes() == FILE
    assert [m for m, p, _ in links.requests if p.endswith(f"/files/{name}")] == ["HEAD", "GET"]
    assert links.downloads("/login") == links.downloads("/page") == 0
