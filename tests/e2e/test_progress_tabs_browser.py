"""Two editor tabs in Chromium, each queueing a workflow whose node 1 sends progress text: nothing mixes.

Tab A and tab B (two browser contexts, so two ComfyUI client ids) load the same one-node workflow, a
*Progress Text Probe* (``tests/e2e/progress_text_pack``, calling ComfyUI's own ``send_progress_text``)
labelled "A" in tab A and "B" in tab B, and both queue it. Every ``progress_text`` event the stock
frontend gets is recorded, and so is what Mend's JS helper (``/mend/progress.js``) hands an extension:
each tab must get its own prompt's only, its canvas must show its own text on node 1, and its Jobs
view must keep its own prompt alone. Then tab B turns on *All clients*
and tab A queues again: B's Jobs view shows A's prompt as a labelled, read-only row while B's canvas
keeps B's text. Screenshots of both tabs side by side go to docs/screenshots/.
"""

from __future__ import annotations

import base64
import shutil

from .browser import DOCS, OUTPUT, launch, open_editor, sync_playwright
from .comfyui_process import ComfyUI

COUNT = 8
TEXT_WIDGET = "$$node-text-preview"  # the frontend's progress text widget (useNodeProgressText)
# every stock progress_text event, and what Mend's helper for other extensions hands over (docs' example)
RECORD = """async () => {
  const api = window.comfyAPI.api.api;
  window.__texts = [];
  api.addEventListener("progress_text", (e) => window.__texts.push(e.detail));
  window.__own = [];
  const helper = await import(api.apiURL("/mend/progress.js"));
  helper.onOwnProgressText(api, (d) => window.__own.push([d.prompt_id, d.display_node_id, d.text]));
}"""
NODE_TEXT = f"() => window.app.graph.getNodeById(1)?.widgets?.find((w) => w.name === '{TEXT_WIDGET}')?.value ?? null"
JOB_ROWS = """() => [...document.querySelectorAll('.mend-jobs .mend-job')].map((row) => ({
  label: row.querySelector('.mend-row-label').textContent,
  readOnly: row.getAttribute('aria-readonly') === 'true',
  texts: [...row.querySelectorAll('.mend-text-body')].map((t) => t.textContent),
}))"""


def probe_workflow(label: str, delay: float) -> dict:
    return {
        "id": f"00000000-0000-4000-8000-00000000000{'1' if label == 'A' else '2'}", "revision": 0,
        "last_node_id": 1, "last_link_id": 0, "version": 0.4, "links": [], "groups": [], "config": {}, "extra": {},
        "nodes": [{"id": 1, "type": "ProgressTextProbe", "pos": [500, 190], "size": [380, 200], "flags": {},
                   "order": 0, "mode": 0, "inputs": [], "properties": {}, "widgets_values": [label, COUNT, delay],
                   "outputs": [{"name": "STRING", "type": "STRING", "links": None}]}],
    }


def texts_sent(label: str) -> list[str]:
    return [f"{label} {i}/{COUNT}" for i in range(1, COUNT + 1)]


def open_tab(browser, comfyui: ComfyUI, label: str, errors: list[str]):
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(f"{label}: {e}"))
    open_editor(page, comfyui)
    page.evaluate(RECORD)
    load(page, probe_workflow(label, 0.2))
    page.evaluate("() => window.__mend.openPanel()")
    page.wait_for_selector(".mend-panel .mend-jobs")
    clear_toasts(page)
    return page


def load(page, workflow: dict) -> None:
    """Load ``workflow`` at a fixed view (the node beside the panel, not under it) and analyse it."""
    page.evaluate("(wf) => window.app.loadGraphData(wf)", workflow)
    page.evaluate("() => { const ds = window.app.canvas.ds; ds.scale = 1; ds.offset = [0, 0];"
                  " window.app.canvas.setDirty(true, true); }")
    page.evaluate("() => window.__mend.analyze()")


def clear_toasts(page) -> None:
    """The startup graph's "missing" toast is not under test here; it would cover the canvas."""
    page.wait_for_timeout(800)  # analysis on load waits for the graph to settle
    page.evaluate("() => window.app.extensionManager?.toast?.removeAll?.()")


def side_by_side(browser, shots: list[tuple[str, bytes]], name: str) -> None:
    """One picture of both tabs, composed by the browser itself (no imaging library needed)."""
    cells = "".join(
        f"<figure><figcaption>{caption}</figcaption><img src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
        "</figure>" for caption, png in shots)
    page = browser.new_page(viewport={"width": 2240, "height": 820})
    page.set_content("<style>body{margin:0;display:flex;gap:16px;background:#202020;font:16px sans-serif;color:#ddd}"
                     "figure{margin:8px}figcaption{margin:4px 0}img{display:block;border:1px solid #555}</style>"
                     + cells)
    page.wait_for_function("() => [...document.images].every((i) => i.complete)")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / name), full_page=True)
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(OUTPUT / name, DOCS / name)
    page.close()


def test_two_tabs_each_see_only_their_own_prompts_text(comfyui: ComfyUI):
    sync_playwright()  # skip before touching anything when there is no browser
    status, _ = comfyui.post("/api/settings", {"Comfy.TutorialCompleted": True,
                                             "Comfy.Workflow.ShowMissingModelsWarning": False,
                                             "Comfy.Workflow.ShowMissingNodesWarning": False})
    assert status == 200
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            errors: list[str] = []
            a, b = open_tab(browser, comfyui, "A", errors), open_tab(browser, comfyui, "B", errors)
            assert a.evaluate("() => window.comfyAPI.api.api.clientId") != b.evaluate(
                "() => window.comfyAPI.api.api.clientId")
            a.evaluate("() => window.app.queuePrompt(0, 1)")
            b.evaluate("() => window.app.queuePrompt(0, 1)")
            for page, label in ((a, "A"), (b, "B")):
                page.wait_for_function(f"() => ({NODE_TEXT})() === '{label} {COUNT}/{COUNT}'", timeout=120_000)
            a.wait_for_function(f"() => window.__texts.length >= {COUNT}")
            # each tab's frontend got its own prompt's frames only, all of them, in order
            for page, label in ((a, "A"), (b, "B")):
                got = page.evaluate("() => window.__texts.map((t) => [t.nodeId, t.text])")
                assert got == [["1", t] for t in texts_sent(label)], got
                own = page.evaluate("() => window.__own")
                assert [(n, t) for _p, n, t in own] == [("1", t) for t in texts_sent(label)], own
                assert page.evaluate(NODE_TEXT) == f"{label} {COUNT}/{COUNT}"
                page.evaluate("() => window.__mend.flush()")
                rows = page.evaluate(JOB_ROWS)
                assert len(rows) == 1 and not rows[0]["readOnly"], rows
                assert rows[0]["texts"] == [f"{label} {COUNT}/{COUNT}"], rows
                prompts = page.evaluate("() => Object.values(window.__mend.getState().prompts)")
                assert [(p["own"], set(p["texts"].values())) for p in prompts] == [
                    (True, {f"{label} {COUNT}/{COUNT}"})], prompts
            for page in (a, b):
                clear_toasts(page)
            shots = [("Tab A", a.screenshot()), ("Tab B", b.screenshot())]
            side_by_side(browser, shots, "progress-two-tabs.png")

            # Tab B follows all clients; tab A runs again: B sees it as a read-only row, its canvas stays B's
            b.check(".mend-follow-all")
            b.wait_for_function("() => window.__mend.getState().followAll")
            load(a, probe_workflow("A2", 0.1))
            a.evaluate("() => window.app.queuePrompt(0, 1)")
            b.wait_for_function(f"""() => {{ window.__mend.flush(); return ({JOB_ROWS})().some(
                (r) => r.readOnly && r.texts.includes('A2 {COUNT}/{COUNT}')); }}""", timeout=120_000)
            rows = b.evaluate(JOB_ROWS)
            foreign = [r for r in rows if r["readOnly"]]
            assert len(foreign) == 1 and foreign[0]["label"] == "another tab or client · read-only", rows
            assert b.evaluate(NODE_TEXT) == f"B {COUNT}/{COUNT}"  # no frame of A's prompt reached B's canvas
            assert len(b.evaluate("() => window.__texts")) == COUNT
            assert [t for _p, _n, t in b.evaluate("() => window.__own")] == texts_sent("B")  # helper: own only
            a.wait_for_function(f"() => ({NODE_TEXT})() === 'A2 {COUNT}/{COUNT}'", timeout=60_000)
            assert [r["readOnly"] for r in a.evaluate(JOB_ROWS)] == [False, False]  # A follows nobody
            for page in (a, b):
                clear_toasts(page)
            side_by_side(browser, [("Tab A (ran again)", a.screenshot()), ("Tab B, All clients on", b.screenshot())],
                         "progress-two-tabs-follow.png")
            assert errors == [], errors
        finally:
            browser.close()
