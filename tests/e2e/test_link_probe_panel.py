"""The link probe where the user decides: the panel in a real ComfyUI 0.8.0, in Chromium.

A workflow names two LoRA files by their own links on a loopback file host: one link needs a login, one
is a file. After the background search the first item says *needs login* with the host's message (legible:
4.5:1 against the panel), the other's candidate shows the server's file name, size and "resumable". A pasted
web page is named at its item and nothing is stored; a pasted file link is decided with "Link: name · size ·
resumable" and downloaded.
"""

from __future__ import annotations

from ..link_server import FILE
from .browser import item, open_editor, shot
from .test_panel_journeys import contrast, load, searched, wait_status


def loras(base: str) -> dict:
    def loader(node_id: int, name: str, path: str) -> dict:
        return {"id": node_id, "type": "LoraLoader", "pos": [500, 160 * node_id], "size": [315, 130],
                "flags": {}, "order": node_id, "mode": 0,
                "inputs": [{"name": t.lower(), "type": t, "link": None} for t in ("MODEL", "CLIP")],
                "outputs": [{"name": t, "type": t, "links": None} for t in ("MODEL", "CLIP")],
                "properties": {"models": [{"name": name, "url": base + path, "directory": "loras"}]},
                "widgets_values": [name, 1.0, 1.0]}
    return {"id": "6c1e0000-0000-4000-8000-00000000e2e2", "revision": 0, "version": 0.4, "last_node_id": 2,
            "last_link_id": 0, "links": [], "groups": [], "config": {}, "extra": {},
            "nodes": [loader(1, "probe-ok.safetensors", "/files/probe-ok.safetensors"),
                      loader(2, "probe-locked.safetensors", "/login/probe-locked.safetensors")]}


def test_the_panel_shows_what_a_link_would_send(browser_page, comfyui, links):
    page = browser_page
    status, _ = comfyui.post("/api/settings", {"Comfy.TutorialCompleted": True,
                                               "Comfy.Workflow.ShowMissingNodesWarning": False})
    assert status == 200
    page.watch.expect_refusal("/mend/decisions", 422)  # the pasted web page, refused by name as designed
    open_editor(page, comfyui)
    load(page, loras(links.base))
    page.locator("canvas#graph-canvas").click(position={"x": 900, "y": 600})
    page.keyboard.press("Alt+Shift+M")
    item(page, "model:1/lora_name").wait_for(timeout=60_000)
    searched(page)

    wait_status(page, "model:2/lora_name", "needs login")
    problem = item(page, "model:2/lora_name").locator(".mend-cand-problem")
    assert "127.0.0.1 needs a login (HTTP 401) and Mend has no token for it" in problem.inner_text()
    assert contrast(page, "[data-item='model:2/lora_name'] .mend-cand-problem") >= 4.5
    ok = item(page, "model:1/lora_name").locator(".mend-cand-link").inner_text()
    assert ok == "probe-ok.safetensors · resumable", ok  # its size is on the line above
    assert "4.18 kB" in item(page, "model:1/lora_name").locator(".mend-cand-meta").inner_text()
    shot(page, "panel-link-probe.png")

    locked = item(page, "model:2/lora_name")
    locked.locator("[data-control='url-input']").fill(f"{links.base}/page/probe-locked.safetensors")
    locked.locator("[data-control='use-url']").click()
    page.wait_for_function("() => document.querySelector(\"[data-item='model:2/lora_name'] .mend-item-error\")")
    assert "answers with a web page" in locked.locator(".mend-item-error-text").inner_text()
    _, stored = comfyui.get("/mend/decisions?workflow=6c1e0000-0000-4000-8000-00000000e2e2")
    assert stored["models"] == {}

    locked.locator("[data-control='url-input']").fill(f"{links.base}/files/probe-locked.safetensors")
    locked.locator("[data-control='use-url']").click()
    wait_status(page, "model:2/lora_name", "downloaded")
    line = locked.locator(".mend-link").inner_text()
    assert line == "Link: probe-locked.safetensors · 4.18 kB · resumable", line
    assert (comfyui.models / "loras" / "probe-locked.safetensors").read_bytes() == FILE
