"""The panel's questions and a busy server, in a real ComfyUI 0.8.0, clicked and typed in Chromium.

1. A pack whose registry version does not fit this machine (it needs ComfyUI >=9.0): Install is refused
   (409 ``incompatible``) and the panel asks at the item, in words, never in a browser dialog. The focus
   lands on "Cancel"; Enter on it installs nothing and the item is open again; Install, then
   "Install anyway", installs it (the route's ``confirm_incompatible``).
2. A busy server: this ComfyUI takes two analyses at once and none waiting (``MEND_MAX_ANALYSES_WAITING=0``
   beside its two helper processes), and two ``POST /mend/analyze`` whose bodies arrive only when the test
   says so hold both places, so the panel's own analysis is answered 429 with ``Retry-After``. The panel
   says "Server busy, retrying in N s", Stop ends that with Retry, Retry asks again, and once a place is
   free the report comes by itself; a decision made while the server is busy shows "saving…" until it is.

Every page error and console error fails a test, except the refusals each test declares.
"""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Iterator

import pytest

from ..git_server import node_pack_files
from .browser import editor_page, editor_server, item, settle
from .comfyui_process import ComfyUI
from .conftest import comfyui_path
from .test_panel_journeys import contrast, load, searched, status_of, wait_status
from .threaded_hub import ThreadedRegistry

PICKY = "comfyui-mende2e-picky"  # its only version wants ComfyUI >=9.0; this one is 0.8.0
PICKY_TYPE = "MendE2EPickyNode"
HELD_BODY = json.dumps({"workflow": {"nodes": [], "links": []}}).encode()


@pytest.fixture(scope="module")
def registry() -> Iterator[ThreadedRegistry]:
    comfyui_path()
    served = ThreadedRegistry().start()
    served.registry.publish(PICKY, "1.0.0", node_pack_files(PICKY_TYPE, name=PICKY), node_types=(PICKY_TYPE,),
                            supported_comfyui_version=">=9.0")
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, e2e_env, registry) -> Iterator[ComfyUI]:
    base = tmp_path_factory.mktemp("questions")
    env = {**e2e_env, "MEND_REGISTRY_URL": registry.endpoint, "MEND_CACHE_DIR": str(base / "mend-cache"),
           "MEND_ANALYSIS_PROCESSES": "2", "MEND_MAX_ANALYSES_WAITING": "0"}  # two at once, none waiting
    with editor_server(base, env) as comfy:
        yield comfy


@pytest.fixture
def page(server: ComfyUI):
    # the editor's default graph, analysed on load and searched: no analysis of Mend's own runs after this
    with editor_page(server, "s.report && !s.analyzing && !s.searching && s.searchedSeq === s.reportSeq") as pg:
        yield pg


def one_node_workflow(uuid: str, node: dict) -> dict:
    return {"id": uuid, "revision": 0, "last_node_id": 1, "last_link_id": 0, "version": 0.4, "links": [],
            "groups": [], "config": {}, "extra": {},
            "nodes": [{"id": 1, "pos": [300, 200], "size": [315, 98], "flags": {}, "order": 0, "mode": 0,
                       "inputs": [], "outputs": [], **node}]}


def focused_control(page) -> str | None:
    return page.evaluate("() => document.activeElement?.dataset?.control ?? null")


# ---- 1. a pack that does not fit this machine ----------------------------------------------------------


def test_incompatible_pack_is_asked_in_the_panel(page, server: ComfyUI):
    load(page, one_node_workflow("7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", {
        "type": PICKY_TYPE, "properties": {"cnr_id": PICKY}, "widgets_values": []}))
    page.evaluate("() => window.__mend.openPanel()")
    node = f"node:{PICKY_TYPE}"
    item(page, node).wait_for(timeout=30_000)
    searched(page)
    group = page.locator(".mend-group", has=page.locator(f".mend-item[data-item='{node}']"))
    page.watch.expect_refusal("/api/mend/nodes/install", 409)  # "incompatible" until confirmed

    # Install: the question at the item, in words; the focus on its safe answer.
    group.locator("[data-control='group-install']").click()
    wait_status(page, node, "confirm")
    question = item(page, node).locator(".mend-confirm-incompatible")
    text = question.inner_text()
    assert f"{PICKY} 1.0.0 does not fit this machine" in text
    assert "It needs ComfyUI >=9.0; this is ComfyUI 0.8.0." in text
    assert "confirm_incompatible" not in text  # the API's field name is no user's business
    page.wait_for_function("() => document.activeElement?.dataset?.control === 'decline-install'")
    assert contrast(page, ".mend-confirm-incompatible li") >= 4.5
    page.evaluate("() => window.app.extensionManager.setting.set('Comfy.ColorPalette', 'light')")
    page.wait_for_timeout(500)
    assert contrast(page, ".mend-confirm-incompatible li") >= 4.5  # the light palette too
    page.evaluate("() => window.app.extensionManager.setting.set('Comfy.ColorPalette', 'dark')")
    page.locator("[data-control='decline-install']").focus()

    # Cancel, by keyboard: nothing installed, no task, the item open again.
    page.keyboard.press("Enter")
    wait_status(page, node, "certain", "choose")
    assert not item(page, node).locator(".mend-confirm").count()
    assert focused_control(page) is not None  # the focus stayed in the item, not lost to the page
    assert not (server.base / "custom_nodes" / PICKY).exists()
    assert server.get("/api/mend/tasks")[1]["tasks"] == []
    page.wait_for_function("() => !Object.keys(window.__mend.getState().pendingDecisions).length")

    # Install again, then "Install anyway": installed, with the conflict it was told about.
    group.locator("[data-control='group-install']").click()
    wait_status(page, node, "confirm")
    item(page, node).locator("[data-control='confirm-install']").click()
    wait_status(page, node, "installed", "failed", timeout=120)
    assert status_of(page, node) == "installed", item(page, node).inner_text()
    assert (server.base / "custom_nodes" / PICKY).is_dir()
    [task] = server.get("/api/mend/tasks")[1]["tasks"]
    assert task["params"]["confirm_incompatible"] is True
    assert task["result"]["confirmed_conflicts"][0]["required"] == ">=9.0"


# ---- 2. a busy server ----------------------------------------------------------------------------------


class HeldAnalysis:
    """A ``POST /mend/analyze`` whose body arrives only on ``release()``: it holds one analysis place.

    The server admits a request before it reads its body (``AnalysisPool.analyze_body``), so while the
    body is incomplete the place stays taken.
    """

    def __init__(self, server: ComfyUI) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        head = (f"POST /api/mend/analyze HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(HELD_BODY)}\r\nConnection: close\r\n\r\n")
        self.sock.sendall(head.encode() + HELD_BODY[:1])
        # admitted and waiting for the rest of its body: no answer (a 429 would come at once)
        assert not select.select([self.sock], [], [], 0.5)[0], self.sock.recv(200)

    def release(self) -> bytes:
        self.sock.sendall(HELD_BODY[1:])
        answer = b""
        while chunk := self.sock.recv(65536):
            answer += chunk
        self.sock.close()
        return answer


def busy_text(page) -> str:
    page.evaluate("() => window.__mend.flush()")
    return page.locator(".mend-busy-text").inner_text()


def test_busy_server_is_retried_stopped_and_retried(page, server: ComfyUI, hub):
    hub.hub.add_file("acme/busy", "busy-model.safetensors", b"\0" * 64)
    held = [HeldAnalysis(server), HeldAnalysis(server)]
    try:
        status, refused = server.post("/api/mend/analyze", {"workflow": {"nodes": [], "links": []}})
        assert status == 429 and refused["error"]["code"] == "too_many_requests", refused  # both places taken
        page.watch.expect_refusal("/api/mend/analyze", 429)
        page.evaluate("() => window.__mend.openPanel()")
        load(page, one_node_workflow("2e9d4c1b-8a7f-4e6d-9c5b-1a2b3c4d5e6f", {
            "type": "CheckpointLoaderSimple", "widgets_values": ["busy-model.safetensors"],
            "outputs": [{"name": t, "type": t, "links": None} for t in ("MODEL", "CLIP", "VAE")],
            "properties": {"models": [{"name": "busy-model.safetensors", "directory": "checkpoints",
                                       "url": "https://huggingface.co/acme/busy/resolve/main/busy-model.safetensors"}]}}))

        # Busy: the line says so and counts the tries; the summary says the analysis waits.
        page.locator(".mend-busy").wait_for(timeout=30_000)
        assert busy_text(page).startswith("Server busy, ")
        first = page.evaluate("() => window.__mend.getState().busy.attempt")
        page.wait_for_function(f"() => window.__mend.getState().busy?.attempt > {first}", timeout=15_000)
        assert "retrying in 1 s (try" in busy_text(page) or "asking again" in busy_text(page)
        assert "server is busy" in page.inner_text(".mend-summary")
        assert contrast(page, ".mend-busy-text") >= 4.5

        # Stop: no more asks; the reason, with Retry, which takes the focus.
        page.locator("[data-control='analysis-stop']").click()
        failed = page.locator(".mend-analysis-error")
        failed.wait_for()
        assert "busy" in failed.inner_text() and not page.locator(".mend-busy").is_visible()
        page.wait_for_function("() => document.activeElement?.dataset?.control === 'analysis-retry'")
        assert contrast(page, ".mend-analysis-error .mend-item-error-text") >= 4.5
        asked = page.evaluate("() => window.__mend.getState().busy")
        assert asked is None
        page.wait_for_timeout(2500)
        assert failed.is_visible() and not page.locator(".mend-busy").is_visible()  # it really stopped

        # Retry (Enter on the focused button): busy again; a place frees up and the report comes by itself.
        page.keyboard.press("Enter")
        page.locator(".mend-busy").wait_for(timeout=15_000)
        assert not failed.is_visible()
        assert held.pop().release().startswith(b"HTTP/1.1 200")
        item(page, "model:1/ckpt_name").wait_for(timeout=30_000)
        settle(page, "!s.busy && !s.analyzing && !s.analysisError")
        assert not page.locator(".mend-busy").is_visible() and not failed.is_visible()
        assert "1 model missing" in page.inner_text(".mend-summary")

        # A decision while both places are taken again: "saving…" until one frees up, then saved.
        searched(page)
        held.append(HeldAnalysis(server))
        assert server.post("/api/mend/analyze", {"workflow": {"nodes": [], "links": []}})[0] == 429
        page.watch.expect_refusal("/api/mend/decisions", 429)
        model = "model:1/ckpt_name"
        item(page, model).locator("[data-control='optional']").click()
        page.wait_for_timeout(2500)  # refused at least once meanwhile, asked again after Retry-After
        page.evaluate("() => window.__mend.flush()")
        assert item(page, model).locator(".mend-chip").inner_text() == "saving…"
        assert held.pop().release().startswith(b"HTTP/1.1 200")
        wait_status(page, model, "optional")
        assert not item(page, model).locator(".mend-item-error").count()
    finally:
        for h in held:
            h.release()
