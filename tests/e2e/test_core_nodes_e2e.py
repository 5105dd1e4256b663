"""A real ComfyUI 0.8.0 whose audio core modules failed to import: core nodes it lacks are never a pack.

Without torchaudio ComfyUI logs ``IMPORT FAILED: nodes_audio.py`` (and ``nodes_lt_audio.py``) and has no
``LoadAudio`` or ``LTXVAudioVAEDecode``; ComfyUI-Manager's map lists those under ComfyUI's repository.
Over HTTP the analysis names the module that failed, or the newer ComfyUI a stamp asks for, offers no
pack, and installing ComfyUI itself is a named 400. In the editor the panel shows no pack group for
ComfyUI and does not count those nodes in "Fix all certain".
"""

from __future__ import annotations

import pytest

from .browser import item, open_editor, settle
from .test_panel_journeys import load

CORE_REPOS = {"https://github.com/comfyanonymous/comfyui", "https://github.com/comfy-org/comfyui"}


def audio_workflow() -> dict:
    """A shared LTX 2.3 workflow's core nodes, as the editor saves them (stamps of the ComfyUI that saved it)."""
    def node(i: int, node_type: str, ver: str | None = None) -> dict:
        props = {"cnr_id": "comfy-core", "ver": ver} if ver else {}
        return {"id": i, "type": node_type, "pos": [100 + 260 * i, 100], "size": [240, 80], "flags": {}, "order": i,
                "mode": 0, "inputs": [], "outputs": [], "properties": props, "widgets_values": []}

    return {"last_node_id": 5, "last_link_id": 0, "links": [], "groups": [], "config": {}, "extra": {},
            "version": 0.4, "nodes": [node(1, "LoadAudio"), node(2, "LTXVEmptyLatentAudio", "0.3.68"),
                                      node(3, "LTXVAudioVAEDecode", "0.7.0"), node(4, "ComfyMathExpression", "0.17.0")]}


def lacks_audio(comfyui) -> None:
    if "IMPORT FAILED: nodes_audio.py" not in comfyui.log():
        pytest.skip("this ComfyUI imported its audio nodes (torchaudio is installed): nothing to lack")


def test_core_nodes_are_explained_over_http_and_comfyui_is_never_installed(comfyui):
    lacks_audio(comfyui)
    status, report = comfyui.post("/api/mend/analyze", audio_workflow())
    assert status == 200, report
    nodes = {n["type"]: n for n in report["missing_nodes"]}
    assert set(nodes) == {"LoadAudio", "LTXVEmptyLatentAudio", "LTXVAudioVAEDecode", "ComfyMathExpression"}
    offered = [(t, c["pack"]["repository"]) for t, n in nodes.items() for c in n["candidates"]]
    assert offered == [] and not any(n["auto"] for n in nodes.values())
    assert nodes["LoadAudio"]["note"] == ("a core ComfyUI node this ComfyUI lacks: its module "
                                          "comfy_extras/nodes_audio.py failed to import (see ComfyUI's log)")
    for node_type in ("LTXVEmptyLatentAudio", "LTXVAudioVAEDecode"):
        assert "comfy_extras/nodes_lt_audio.py failed to import" in nodes[node_type]["note"]
    assert nodes["ComfyMathExpression"]["note"].endswith("needs ComfyUI ≥ 0.17.0 (this is 0.8.0)")

    status, body = comfyui.post("/api/mend/nodes/install", {"repository": "https://github.com/comfyanonymous/ComfyUI"})
    assert status == 400 and body["error"]["code"] == "core_not_a_pack", body
    assert not (comfyui.base / "custom_nodes" / "ComfyUI").exists()


def test_the_panel_shows_no_pack_group_for_comfyui(browser_page, comfyui):
    lacks_audio(comfyui)
    page = browser_page
    comfyui.post("/api/settings", {"Comfy.TutorialCompleted": True, "Comfy.Workflow.ShowMissingNodesWarning": False})
    open_editor(page, comfyui)
    load(page, audio_workflow())
    settle(page, "s.report && !s.analyzing && s.report.missing_nodes.some((n) => n.type === 'LoadAudio')")
    page.evaluate("() => window.__mend.openPanel()")
    item(page, "node:LoadAudio").wait_for(timeout=30_000)
    page.evaluate("() => window.__mend.flush()")
    titles = page.locator(".mend-panel .mend-group-title").all_inner_texts()
    assert not any("comfyanonymous" in t.lower() or t.startswith("ComfyUI") for t in titles), titles
    assert page.locator(".mend-panel [data-control='group-install']").count() == 0
    assert "failed to import" in item(page, "node:LoadAudio").inner_text()
    assert "needs ComfyUI ≥ 0.17.0" in item(page, "node:ComfyMathExpression").inner_text()
    fix = page.locator("[data-control='fix-all']")
    assert not fix.count() or fix.inner_text() in ("Fix all certain (0)", "Fix all certain"), fix.inner_text()
