"""The editor panel in a real ComfyUI, driven in Chromium: toast, panel, a download to 100%, the widget.

A workflow with a missing node type and a missing checkpoint (whose ``models`` link points at the
loopback Hugging Face server) is loaded into the real editor. Mend's toast appears; "Resolve" opens
the panel; choosing the checkpoint's candidate posts the decision and starts a download whose bar
reaches 100%; the loader's widget then names the downloaded file, which lies verified on disk. A
decision survives a page reload. Screenshots of the three moments are written to tests/output/ and
copied to docs/screenshots/ for the README.

This module starts its own ComfyUI (``HF_ENDPOINT`` must be set before the server starts). It skips
with a reason without ``COMFYUI_PATH``, without Chromium, or without the ``playwright`` package.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from ..hf_server import safetensors_bytes
from .comfyui_process import REPO, ComfyUI
from .threaded_hub import ThreadedHub

CHROMIUM = Path(os.environ.get("MEND_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
OUTPUT = REPO / "tests" / "output"
DOCS = REPO / "docs" / "screenshots"
HUB_REPO = "acme/demo"
MODEL = "demo-model.safetensors"
# Big enough to be seen in flight: progress is reported every few MiB, the hub trickles the bytes.
MODEL_BYTES = safetensors_bytes(24_000_000, seed=7)
WORKFLOW_ID = "3f1c2a9e-5b7d-4c1e-9a2b-8d6e4f0a1b2c"


def sync_playwright():
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (set MEND_CHROMIUM): the browser test needs one")
    try:
        from playwright.sync_api import sync_playwright as start
    except ImportError:
        pytest.skip("the playwright package is not installed: the browser test needs it")
    return start()


def workflow() -> dict:
    """A UI workflow: a checkpoint loader whose file is missing (with its link) and a node type nobody has."""
    return {
        "id": WORKFLOW_ID, "revision": 0, "last_node_id": 7, "last_link_id": 0, "version": 0.4,
        "links": [], "groups": [], "config": {}, "extra": {},
        "nodes": [
            {"id": 4, "type": "CheckpointLoaderSimple", "pos": [400, 160], "size": [315, 98], "flags": {}, "order": 0,
             "mode": 0, "inputs": [],
             "outputs": [{"name": t, "type": t, "links": None} for t in ("MODEL", "CLIP", "VAE")],
             "properties": {"Node name for S&R": "CheckpointLoaderSimple", "models": [{
                 "name": MODEL, "url": f"https://huggingface.co/{HUB_REPO}/resolve/main/{MODEL}",
                 "directory": "checkpoints"}]},
             "widgets_values": [MODEL]},
            {"id": 7, "type": "VHS_VideoCombine", "pos": [760, 160], "size": [260, 120], "flags": {}, "order": 1,
             "mode": 0, "inputs": [], "outputs": [],
             "properties": {"cnr_id": "comfyui-videohelpersuite", "ver": "1.7.9"}, "widgets_values": {}},
        ],
    }


def shot(page, name: str) -> None:
    """A screenshot of the panel's side of the editor, in tests/output/ and docs/screenshots/."""
    page.evaluate("() => window.__mend.flush()")
    page.wait_for_timeout(300)  # the bar's width transition
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / name), clip={"x": 0, "y": 0, "width": 1080, "height": 900})
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(OUTPUT / name, DOCS / name)


def open_editor(page, comfyui: ComfyUI) -> None:
    page.goto(comfyui.url)
    page.wait_for_function("() => window.app?.graph && window.__mend", timeout=90_000)
    page.wait_for_timeout(1_000)  # a fresh editor may still open its templates dialog
    for _ in range(20):  # close any dialog that covers the canvas
        if not page.locator(".p-dialog-mask").count():
            break
        page.keyboard.press("Escape")
        page.wait_for_timeout(250)


def test_resolve_a_missing_model_from_the_panel(comfyui: ComfyUI, hub: ThreadedHub):
    sync_playwright()  # skip before touching anything when there is no browser
    hub.hub.add_file(HUB_REPO, MODEL, MODEL_BYTES)
    hub.hub.fault(MODEL, "trickle", piece=64 * 1024, delay=0.02, times=10)
    # ComfyUI's own missing-model dialog would cover the canvas; Mend's toast is what is under test.
    status, _ = comfyui.post("/api/settings", {"Comfy.Workflow.ShowMissingModelsWarning": False,
                                             "Comfy.Workflow.ShowMissingNodesWarning": False,
                                             "Comfy.TutorialCompleted": True})
    assert status == 200
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            open_editor(page, comfyui)
            page.evaluate("(wf) => window.app.loadGraphData(wf)", workflow())
            # A fixed view, so the screenshots show both nodes beside the panel.
            page.evaluate("() => { const ds = window.app.canvas.ds; ds.scale = 1; ds.offset = [0, 0];"
                          " window.app.canvas.setDirty(true, true); }")

            # The toast says how much is missing and opens the panel (the default graph's toast is replaced).
            toast = page.locator(".mend-toast", has_text="2 missing — Resolve")
            toast.wait_for(timeout=30_000)
            assert "1 node type, 1 model" in toast.inner_text()
            toast.locator(".mend-toast-resolve").click()
            page.wait_for_selector(".mend-panel .mend-item[data-item='model:4/ckpt_name'] .mend-cand")
            panel = page.inner_text(".mend-panel")
            assert "VHS_VideoCombine" in panel and "Video" in panel  # grouped under its pack
            assert "CheckpointLoaderSimple · ckpt_name · node 4" in panel
            assert "link saved in the workflow" in panel
            shot(page, "panel-missing.png")

            # Choose the checkpoint's candidate: the decision is saved, the download starts.
            page.click(".mend-item[data-item='model:4/ckpt_name'] .mend-cand")
            page.wait_for_function("() => { const s = window.__mend.getState(); const t = s.tasks[s.taskOrder.at(-1)];"
                                   " return t && t.progress.total && t.progress.done > 0"
                                   " && t.progress.done < t.progress.total; }", timeout=60_000)
            state = page.evaluate("() => window.__mend.getState()")
            assert state["error"] is None, state["error"]
            assert state["decisions"]["model:4/ckpt_name"]["action"] == "choose"
            assert state["pendingDecisions"] == {}
            bar = page.locator(".mend-tasks .mend-row .mend-bar").first
            assert 0 < float(bar.get_attribute("aria-valuenow") or 0) < 100
            shot(page, "panel-downloading.png")

            page.wait_for_function("() => { const s = window.__mend.getState();"
                                   " return s.tasks[s.taskOrder.at(-1)].state === 'succeeded'; }", timeout=120_000)
            page.evaluate("() => window.__mend.flush()")
            assert bar.get_attribute("aria-valuenow") == "100"
            assert page.locator(".mend-tasks .mend-row").first.get_attribute("data-state") == "succeeded"
            # The loader's widget names the downloaded file, which ComfyUI now lists.
            page.wait_for_function(
                f"() => {{ const w = window.app.graph.getNodeById(4).widgets[0];"
                f" return w.value === {json.dumps(MODEL)} && w.options.values.includes({json.dumps(MODEL)}); }}",
                timeout=30_000)
            shot(page, "panel-done.png")
            on_disk = comfyui.models / "checkpoints" / MODEL
            assert hashlib.sha256(on_disk.read_bytes()).hexdigest() == hashlib.sha256(MODEL_BYTES).hexdigest()
            assert not on_disk.with_name(MODEL + ".part").exists()

            # A decision is durable: after a reload the panel shows it again, and the finished task.
            page.click(".mend-item[data-item='node:VHS_VideoCombine'] button[data-focus$=':optional']")
            page.wait_for_function("() => { const s = window.__mend.getState(); return s.decisions["
                                   "'node:VHS_VideoCombine'] && !Object.keys(s.pendingDecisions).length; }")
            assert page.evaluate("() => window.__mend.getState().error") is None
            page.reload()
            page.wait_for_function("() => window.app?.graph && window.__mend", timeout=90_000)
            page.evaluate("() => window.__mend.analyze()")
            page.wait_for_function("() => window.__mend.getState().decisions['node:VHS_VideoCombine']?.action"
                                   " === 'optional'", timeout=30_000)
            states = page.evaluate("() => Object.values(window.__mend.getState().tasks).map(t => t.state)")
            assert states == ["succeeded"]
            assert errors == [], errors
        finally:
            browser.close()
