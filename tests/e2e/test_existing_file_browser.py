"""Finding E7 in the real editor: a pasted link whose file name is already taken by *another* file.

A real ComfyUI 0.8.0, Chromium, links on a loopback server that look like any web server's (no Hugging
Face metadata). Three LoRA loaders each miss a file; for each, a link is pasted whose file name already
exists in ``models/loras`` with other bytes. The panel asks at the item, before a byte is fetched, and
each answer ends with the node pointing at the bytes the user chose:

- *Save new as …*: the new file beside the old one, the widget names the new one;
- *Cancel*, then the link again and *Replace it*: the new bytes under the name, the old file moved aside;
- *Keep the file there*: nothing fetched, the widget names the old file, the task says it was kept.

A link whose Hugging Face sha256 matches the file already there is no question: "already there".
"""

from __future__ import annotations

from ..hf_server import safetensors_bytes
from .browser import close_dialogs, item, open_editor, settle, shot
from .comfyui_process import ComfyUI
from .threaded_hub import ThreadedHub

NAMES = ("e7a", "e7b", "e7c", "e7d")


def workflow() -> dict:
    nodes = [{"id": i + 1, "type": "LoraLoaderModelOnly", "pos": [50, 50 + 150 * i], "size": [315, 82],
              "mode": 0, "inputs": [{"name": "model", "type": "MODEL", "link": None}],
              "outputs": [{"name": "MODEL", "type": "MODEL", "links": []}],
              "widgets_values": [f"{name}-lost.safetensors", 1.0]} for i, name in enumerate(NAMES)]
    return {"last_node_id": len(nodes), "last_link_id": 0, "nodes": nodes, "links": [], "groups": [],
            "config": {}, "extra": {}, "version": 0.4}


def widget_value(page, node_id: int) -> str:
    return page.evaluate("(id) => window.app.graph.getNodeById(id).widgets[0].value", node_id)


def wait_status(page, item_id: str, *wanted: str, timeout: float = 60_000) -> None:
    page.wait_for_function("([id, wanted]) => { window.__mend.flush();"
                           " const el = document.querySelector(`.mend-panel .mend-item[data-item='${id}']`);"
                           " return el && wanted.includes(el.getAttribute('data-status')); }",
                           arg=[item_id, list(wanted)], timeout=timeout)


def paste(page, name: str, url: str):
    row = page.locator(".mend-panel .mend-item", has_text=f"{name}-lost.safetensors")
    row_id = row.get_attribute("data-item")
    row.locator("[data-control='url-input']").fill(url)
    row.locator("[data-control='use-url']").click()
    return row_id


def test_a_taken_file_name_is_asked_and_each_answer_points_the_node_at_the_right_bytes(
        browser_page, comfyui: ComfyUI, hub: ThreadedHub):
    page, loras = browser_page, comfyui.models / "loras"
    old = {n: safetensors_bytes(3_000 + k, seed=70 + k) for k, n in enumerate(NAMES)}
    new = {n: safetensors_bytes(1_000 + k, seed=80 + k) for k, n in enumerate(NAMES)}
    for n in NAMES:
        (loras / f"{n}.safetensors").write_bytes(old[n])  # from another URL, earlier
        hub.hub.add_file(f"plain/{n}", f"other/{n}.safetensors", new[n])
    hub.hub.add_file("acme/e7", "e7d.safetensors", old["e7d"])  # the Hugging Face file *is* the one there
    link = {n: f"{hub.endpoint}/files/other/{n}.safetensors" for n in NAMES}

    status, _ = comfyui.post("/api/settings", {"Comfy.TutorialCompleted": True,  # no templates dialog
                                               "Comfy.Workflow.ShowMissingNodesWarning": False})
    assert status == 200
    open_editor(page, comfyui)
    settle(page, "s.report && !s.analyzing")  # the editor's default graph first
    page.watch.expect_refusal("/api/mend/decisions", 409)  # file_exists until answered
    page.evaluate("(wf) => window.app.loadGraphData(wf)", workflow())
    close_dialogs(page)
    page.evaluate("() => window.__mend.openPanel()")
    settle(page, "s.report && s.report.missing_models.length === 4 && !s.searching")

    # 1. Save the new one under another name
    a = paste(page, "e7a", link["e7a"])
    wait_status(page, a, "confirm")
    question = item(page, a).locator(".mend-confirm-existing")
    assert "e7a.safetensors already exists" in question.inner_text()
    assert "cannot tell it is the same file" in question.inner_text()
    assert hub.hub.sent["other/e7a.safetensors"] == 0  # not a byte fetched before the answer
    assert widget_value(page, 1) == "e7a-lost.safetensors"
    shot(page, "panel-file-exists.png")
    question.locator("[data-control='existing-rename']").click()
    wait_status(page, a, "downloaded")
    page.wait_for_function("() => window.app.graph.getNodeById(1).widgets[0].value === 'e7a-other.safetensors'")
    assert (loras / "e7a-other.safetensors").read_bytes() == new["e7a"]
    assert (loras / "e7a.safetensors").read_bytes() == old["e7a"]

    # 2. Cancel, then the link again and Replace
    b = paste(page, "e7b", link["e7b"])
    wait_status(page, b, "confirm")
    item(page, b).locator("[data-control='existing-cancel']").click()
    page.wait_for_function("(id) => !window.__mend.getState().confirmations[id]", arg=b)
    assert widget_value(page, 2) == "e7b-lost.safetensors" and not (loras / "e7b.safetensors.replaced").exists()
    paste(page, "e7b", link["e7b"])
    wait_status(page, b, "confirm")
    item(page, b).locator("[data-control='existing-replace']").click()
    wait_status(page, b, "downloaded")
    page.wait_for_function("() => window.app.graph.getNodeById(2).widgets[0].value === 'e7b.safetensors'")
    assert (loras / "e7b.safetensors").read_bytes() == new["e7b"]
    assert (loras / "e7b.safetensors.replaced").read_bytes() == old["e7b"]

    # 3. Keep the file there: the user's word; nothing fetched
    c = paste(page, "e7c", link["e7c"])
    wait_status(page, c, "confirm")
    item(page, c).locator("[data-control='existing-keep']").click()
    wait_status(page, c, "downloaded")
    page.wait_for_function("() => window.app.graph.getNodeById(3).widgets[0].value === 'e7c.safetensors'")
    assert (loras / "e7c.safetensors").read_bytes() == old["e7c"] and hub.hub.sent["other/e7c.safetensors"] == 0
    tasks = page.evaluate("() => Object.values(window.__mend.getState().tasks).map(t => t.result || {})")
    assert any(r.get("kept") for r in tasks)
    assert page.locator(".mend-panel", has_text="already there: kept").count()

    # 4. The same file (Hugging Face's sha256 matches): no question, no bytes
    d = paste(page, "e7d", "https://huggingface.co/acme/e7/resolve/main/e7d.safetensors")
    wait_status(page, d, "downloaded")
    page.wait_for_function("() => window.app.graph.getNodeById(4).widgets[0].value === 'e7d.safetensors'")
    assert hub.hub.sent["e7d.safetensors"] == 0
    assert (loras / "e7d.safetensors").read_bytes() == old["e7d"]
    assert page.locator(".mend-panel", has_text="already there: its sha256 matches").count()
