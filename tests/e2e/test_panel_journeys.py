"""The editor panel in a real ComfyUI 0.8.0, clicked through in Chromium as a person would.

Four journeys, each a test, on one ComfyUI of this module (its hub: the loopback Hugging Face
server; its registry: the loopback Comfy Registry):

1. a template (``image_flux2``, a bypassed subgraph inside) fixed with "Fix all certain": the bypassed
   subgraph's model is shown apart as not blocking and left alone, ComfyUI's own validation (every
   loader's value in its list) passes; choosing that model's gated link fails *at its item*;
2. a saved workflow: a decision rewrites the file and the open tab alike (marked modified), Ctrl+S
   saves it and the decision survives;
3. downloads: pause (the part stays), resume, cancel (the part goes), retry, a reload mid-download, a
   pickle confirmed and one declined in the panel, the toast dismissed, Alt+Shift+M;
4. a community workflow with missing packs and models: a candidate chosen, a URL pasted, Optional and
   Undo, Skip, a search, packs installed from the registry, a restart after which the nodes are real
   nodes again without a reload.

Every page error and console error fails the test. Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..git_server import node_pack_files
from ..hf_server import safetensors_bytes
from .browser import (
    close_dialogs,
    editor_page,
    editor_server,
    item,
    settle,
    shot,
)
from .comfyui_process import ComfyUI
from .conftest import comfyui_path
from .threaded_hub import ThreadedHub, ThreadedRegistry

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
TEMPLATE = CORPUS / "templates" / "image_flux2.json"
COMMUNITY = CORPUS / "user-workflows" / "wf" / (
    "199_ritikvirus__runpod-comfyui-wan-workflows__workflows_Wan2.2-Image2Video_14B-HighQuality_-_720P.json")
FLUX = "Comfy-Org/flux2-dev"
FLUX_FILES = ("split_files/vae/flux2-vae.safetensors",
              "split_files/text_encoders/mistral_3_small_flux2_bf16.safetensors",
              "split_files/diffusion_models/flux2_dev_fp8mixed.safetensors")
# A 1x1 PNG: the image a template's LoadImage names (the editor fetches it for the preview).
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea7d6a4520000000049454e44ae426082")
WAN = "Comfy-Org/Wan_2.1_ComfyUI_repackaged"
LIGHTNING = "lightx2v/Wan2.2-Lightning"
LOW = "Wan2.2-Lightning_I2V-A14B-4steps-lora_LOW_fp16.safetensors"
HIGH = "Wan2.2-Lightning_I2V-A14B-4steps-lora_HIGH_fp16.safetensors"


@pytest.fixture(scope="module")
def registry() -> Iterator[ThreadedRegistry]:
    comfyui_path()
    served = ThreadedRegistry().start()
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, e2e_env, registry) -> Iterator[ComfyUI]:
    base = tmp_path_factory.mktemp("journeys")
    with editor_server(base, {**e2e_env, "MEND_REGISTRY_URL": registry.endpoint,
                              "MEND_CACHE_DIR": str(base / "mend-cache")}) as comfy:
        yield comfy


@pytest.fixture
def page(server: ComfyUI):
    with editor_page(server) as pg:
        yield pg


def provide_images(server: ComfyUI, workflow: dict) -> None:
    """The images a workflow's LoadImage nodes name, as its user has them (the editor previews them)."""
    graphs = [workflow, *((workflow.get("definitions") or {}).get("subgraphs") or [])]
    for node in (n for g in graphs for n in g.get("nodes", [])):
        if node.get("type") == "LoadImage" and node.get("widgets_values"):
            (server.base / "input").mkdir(exist_ok=True)
            (server.base / "input" / node["widgets_values"][0]).write_bytes(PNG)


def load(page, workflow: dict) -> None:
    """What opening a file does: the editor loads the graph (Mend analyses it when it settles)."""
    page.evaluate("(wf) => window.app.loadGraphData(wf)", workflow)
    page.evaluate("() => { const ds = window.app.canvas.ds; ds.scale = 0.6; ds.offset = [0, 0]; }")


def resolve_from_toast(page, text: str) -> None:
    toast = page.locator(".mend-toast", has_text=text)
    toast.wait_for(timeout=30_000)
    toast.locator("[data-control='toast-resolve']").click()
    page.locator(".mend-panel .mend-item").first.wait_for(timeout=30_000)


def searched(page) -> None:
    settle(page, "s.report && !s.searching && s.searchedSeq === s.reportSeq", timeout=60_000)


def status_of(page, item_id: str) -> str:
    page.evaluate("() => window.__mend.flush()")
    return item(page, item_id).get_attribute("data-status") or ""


def wait_status(page, item_id: str, *wanted: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        last = status_of(page, item_id) if item(page, item_id).count() else ""
        if last in wanted:
            return last
        page.wait_for_timeout(200)
    raise AssertionError(f"{item_id} stayed {last!r}, wanted {wanted}")


def object_info(server: ComfyUI) -> dict:
    return server.get("/api/object_info")[1]


def loader_values_valid(page, server: ComfyUI) -> list[str]:
    """ComfyUI's own check of model widgets: each value must be in the loader's list ("Value not in list")."""
    prompt = page.evaluate("async () => (await window.app.graphToPrompt()).output")
    info = object_info(server)
    bad = []
    for node_id, node in prompt.items():
        spec = info.get(node["class_type"], {}).get("input", {}).get("required", {})
        for name, value in node["inputs"].items():
            options = spec.get(name, [None])[0]
            if isinstance(value, str) and value.endswith(".safetensors") and isinstance(options, list) \
                    and value not in options:
                bad.append(f"{node_id} {node['class_type']}.{name}={value}")
    return bad


def contrast(page, selector: str) -> float:
    """WCAG contrast of an element's text against the panel's background."""
    return page.evaluate("""(sel) => {
        const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
        const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
        const lum = ([r, g, b]) => {
          return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
        const fg = lum(rgb(getComputedStyle(document.querySelector(sel)).color));
        const bg = lum(rgb(getComputedStyle(document.querySelector('.mend-panel')).backgroundColor));
        return (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05); }""", selector)


# ---- 1. a template, "Fix all certain" ------------------------------------------------------------


def test_template_fixed_with_fix_all_certain(page, server: ComfyUI, hub: ThreadedHub):
    for path in FLUX_FILES:
        hub.hub.add_file(FLUX, path, safetensors_bytes(300_000, seed=len(path)))
    hub.hub.add_file("ByteZSzn/Flux.2-Turbo-ComfyUI", "Flux_2-Turbo-LoRA_comfyui.safetensors",
                     safetensors_bytes(1000), gated_token="hf_not_yours")
    template = json.loads(TEMPLATE.read_text())
    provide_images(server, template)
    load(page, template)
    # Three files block a run; the LoRA only the bypassed subgraph uses does not count.
    resolve_from_toast(page, "3 missing")
    searched(page)
    panel = page.inner_text(".mend-panel").lower()
    assert "not blocking" in panel and "flux_2-turbo-lora_comfyui.safetensors" in panel
    lora = page.locator(".mend-inactive .mend-item", has_text="Flux_2-Turbo-LoRA_comfyui.safetensors")
    assert "bypassed" in lora.inner_text()
    wait_status(page, lora.get_attribute("data-item"), "gated")  # the hub says so: not "certain"
    fix = page.locator("[data-control='fix-all']")
    assert fix.inner_text() == "Fix all certain (3)"
    fix.click()
    settle(page, "Object.values(s.tasks).filter(t => t.state === 'succeeded').length === 3", timeout=120_000)
    page.wait_for_function("() => window.__mend.getState().taskOrder.length === 3")
    for path in FLUX_FILES:  # (diffusion_models' first folder is models/unet)
        assert list(server.models.glob(f"*/{path.rsplit('/', 1)[-1]}")), path
    page.wait_for_timeout(1500)  # the combos are refreshed and the widgets set
    assert loader_values_valid(page, server) == []
    summary = page.inner_text(".mend-summary")
    assert "nothing blocks a run" in summary and "1 not blocking" in summary and "3 fixed" in summary
    page.locator("[data-control='include-inactive']").check()
    shot(page, "panel-not-blocking.png")

    # Choosing the bypassed LoRA's gated link: the error is at its item, which says failed, with Retry.
    page.watch.expect_refusal("/api/mend/models/download", 403)  # "gated", asked before any byte
    lora.locator("[data-control='candidate']").first.click()
    wait_status(page, lora.get_attribute("data-item"), "failed")
    error = lora.locator(".mend-item-error")
    assert "gated" in error.inner_text() and "HF_TOKEN" in error.inner_text()
    assert not page.locator(".mend-error").is_visible()  # nothing at the top of the panel
    assert "1 failed" in page.inner_text(".mend-summary")
    lora.scroll_into_view_if_needed()
    shot(page, "panel-error-at-item.png")
    assert contrast(page, ".mend-item-error-text") >= 4.5
    page.evaluate("() => window.app.extensionManager.setting.set('Comfy.ColorPalette', 'light')")
    page.wait_for_timeout(500)
    assert contrast(page, ".mend-item-error-text") >= 4.5  # the light palette too
    page.evaluate("() => window.app.extensionManager.setting.set('Comfy.ColorPalette', 'dark')")
    lora.locator("[data-control='item-retry']").click()
    wait_status(page, lora.get_attribute("data-item"), "failed")  # still gated: still said at the item
    page.locator("[data-control='reanalyze']").click()
    settle(page, "!s.analyzing")


# ---- 2. a saved workflow, decided, then Ctrl+S -----------------------------------------------------


def saved_workflow() -> dict:
    return {
        "id": "6b1e0f57-3f0b-4c55-a6a4-8f1f3f8f2c11", "revision": 0, "last_node_id": 4, "last_link_id": 0,
        "version": 0.4, "links": [], "groups": [], "config": {}, "extra": {},
        "nodes": [{"id": 4, "type": "CheckpointLoaderSimple", "pos": [300, 200], "size": [315, 98], "flags": {},
                   "order": 0, "mode": 0, "inputs": [],
                   "outputs": [{"name": t, "type": t, "links": None} for t in ("MODEL", "CLIP", "VAE")],
                   "properties": {}, "widgets_values": ["portrait-v2.safetensors"]}],
    }


def test_saved_workflow_decision_survives_ctrl_s(page, server: ComfyUI):
    local = server.models / "checkpoints" / "people" / "portrait-v2.safetensors"
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(safetensors_bytes(1000))
    file = server.base / "user" / "default" / "workflows" / "portrait.json"
    file.write_text(json.dumps(saved_workflow(), indent=2))
    # Open it from the Workflows sidebar, as a person does.
    page.locator(".workflows-tab-button").click()
    page.locator(".comfy-vue-side-bar-header button:has(.pi-refresh)").click()  # the file is new
    page.locator(".comfyui-workflows-panel").get_by_text("portrait.json").first.click()
    resolve_from_toast(page, "1 missing")
    assert page.evaluate("() => window.__mend.getState().workflow.mode") == "file"
    model = item(page, "model:4/ckpt_name")
    model.locator("[data-control='candidate']").first.click()
    wait_status(page, "model:4/ckpt_name", "uses local file")
    settle(page, "!Object.keys(s.pendingDecisions).length")  # the server answered
    # The file and the open tab agree, and the tab says it changed.
    assert json.loads(file.read_text())["nodes"][0]["widgets_values"][0] == "people/portrait-v2.safetensors"
    page.wait_for_function("() => window.app.graph.getNodeById(4).widgets[0].value"
                           " === 'people/portrait-v2.safetensors'")
    page.wait_for_function("() => window.app.extensionManager.workflow.activeWorkflow.isModified")
    page.locator("canvas#graph-canvas").click(position={"x": 700, "y": 600})
    page.keyboard.press("Control+s")
    page.wait_for_function("() => !window.app.extensionManager.workflow.activeWorkflow.isModified", timeout=10_000)
    saved = json.loads(file.read_text())
    assert saved["nodes"][0]["widgets_values"][0] == "people/portrait-v2.safetensors"  # Ctrl+S kept it


def test_second_copy_of_a_resolved_workflow_gets_the_decided_files(page, server: ComfyUI):
    """The same graph (same id) loaded again, as from a PNG: the widgets get the decided file, never "fixed" alone."""
    local = server.models / "checkpoints" / "second-copy.safetensors"
    local.write_bytes(safetensors_bytes(1000, seed=7))
    workflow = {**saved_workflow(), "id": "5e0c2b1a-77d4-4d0b-9a53-1d2f3c4b5a60"}
    workflow["nodes"] = [{**workflow["nodes"][0], "widgets_values": ["old/second-copy.safetensors"]}]
    load(page, workflow)
    resolve_from_toast(page, "1 missing")
    item(page, "model:4/ckpt_name").locator("[data-control='candidate']").first.click()
    wait_status(page, "model:4/ckpt_name", "uses local file")
    settle(page, "!Object.keys(s.pendingDecisions).length")
    load(page, workflow)  # the second copy still names the old file
    settle(page, "s.reportSeq > 1 && !s.analyzing", timeout=30_000)
    page.wait_for_function("() => window.app.graph.getNodeById(4).widgets[0].value === 'second-copy.safetensors'",
                           timeout=15_000)
    page.wait_for_function("() => window.app.extensionManager.workflow.activeWorkflow.isModified")
    assert loader_values_valid(page, server) == []
    page.locator("[data-control='reanalyze']").click()
    settle(page, "!s.analyzing")
    assert "Nothing is missing" in page.inner_text(".mend-summary")  # graph, panel and disk agree


# ---- 3. pause, resume, cancel, retry, reload; pickles; the toast; Alt+Shift+M --------------------------


def downloads_workflow() -> dict:
    def loader(node_id: int, name: str, repo: str) -> dict:
        return {"id": node_id, "type": "CheckpointLoaderSimple", "pos": [300, 120 * node_id], "size": [315, 98],
                "flags": {}, "order": node_id, "mode": 0, "inputs": [],
                "outputs": [{"name": t, "type": t, "links": None} for t in ("MODEL", "CLIP", "VAE")],
                "properties": {"models": [{"name": name, "url": f"https://huggingface.co/{repo}/resolve/main/{name}",
                                           "directory": "checkpoints"}]},
                "widgets_values": [name]}

    return {"id": "0c6a2d3e-9d51-4c0e-8f6c-2b7a9e4d1f00", "revision": 0, "last_node_id": 3, "last_link_id": 0,
            "version": 0.4, "links": [], "groups": [], "config": {}, "extra": {},
            "nodes": [loader(1, "slow-a.safetensors", "acme/slow"), loader(2, "old-format.ckpt", "acme/old"),
                      loader(3, "refused.ckpt", "acme/old")]}


def part_of(server: ComfyUI, name: str) -> Path:
    return server.models / "checkpoints" / f"{name}.part"


def test_pause_resume_cancel_retry_and_reload(page, server: ComfyUI, hub: ThreadedHub):
    slow = safetensors_bytes(16_000_000, seed=3)  # about 20 s a pass: slow enough to click and reload mid-way
    hub.hub.add_file("acme/slow", "slow-a.safetensors", slow)
    hub.hub.fault("slow-a.safetensors", "trickle", piece=32 * 1024, delay=0.04, times=50)
    hub.hub.add_file("acme/old", "old-format.ckpt", b"\x80\x04K\x01." * 100)
    hub.hub.add_file("acme/old", "refused.ckpt", b"\x80\x04K\x02." * 100)
    load(page, downloads_workflow())
    toast = page.locator(".mend-toast", has_text="3 missing")
    toast.wait_for(timeout=30_000)
    toast.locator("[data-control='toast-close']").click()
    assert not page.locator(".mend-toast").count()
    load(page, downloads_workflow())  # the same workflow again (a tab switch does this): no second toast
    page.wait_for_timeout(1500)
    assert not page.locator(".mend-toast").count()
    # Alt+Shift+M opens the panel and puts the focus in it; again closes it.
    page.locator("canvas#graph-canvas").click(position={"x": 900, "y": 500})
    page.keyboard.press("Alt+Shift+M")
    page.wait_for_function("() => document.activeElement?.closest('.mend-panel')")
    page.keyboard.press("Alt+Shift+M")
    page.wait_for_function("() => !document.querySelector('.mend-panel')?.offsetParent")
    page.keyboard.press("Alt+Shift+M")
    page.wait_for_function("() => document.activeElement?.closest('.mend-panel')")
    item(page, "model:1/ckpt_name").wait_for()
    searched(page)
    shot(page, "panel-missing.png")

    a = "model:1/ckpt_name"
    item(page, a).locator("[data-control='candidate']").first.click()
    settle(page, "Object.values(s.tasks).some(t => t.state === 'running' && t.progress.done > 500000)")
    row = page.locator(".mend-tasks .mend-row", has_text="slow-a.safetensors")
    assert "MB" in row.locator(".mend-bytes").inner_text()  # units, never raw byte counts
    shot(page, "panel-downloading.png")
    row.locator("[data-control='task-pause']").click()
    wait_status(page, a, "paused")
    kept = part_of(server, "slow-a.safetensors").stat().st_size
    assert kept > 0  # Pause keeps the part
    state = row.locator(".mend-row-state")
    assert state.inner_text() == "paused" and state.evaluate("e => e.scrollWidth <= e.clientWidth")  # not clipped
    row.locator("[data-control='task-resume']").click()
    settle(page, f"Object.values(s.tasks).some(t => t.state === 'running' && t.progress.done > {kept})")
    row.locator("[data-control='task-cancel']").click()
    wait_status(page, a, "cancelled")
    assert not part_of(server, "slow-a.safetensors").exists()  # Cancel discards it
    row.locator("[data-control='task-retry']").click()
    settle(page, "Object.values(s.tasks).some(t => t.state === 'running' && t.progress.done > 0)")

    page.reload()  # mid-download
    page.wait_for_function("() => window.app?.graph && window.__mend", timeout=90_000)
    close_dialogs(page)
    page.evaluate("() => window.__mend.openPanel()")
    settle(page, "Object.values(s.tasks).some(t => t.state === 'running')", timeout=30_000)
    settle(page, "Object.values(s.tasks).some(t => t.state === 'succeeded'"
           " && t.params.relpath === 'slow-a.safetensors')", timeout=180_000)
    on_disk = server.models / "checkpoints" / "slow-a.safetensors"
    assert hashlib.sha256(on_disk.read_bytes()).hexdigest() == hashlib.sha256(slow).hexdigest()
    wait_status(page, a, "downloaded")
    page.wait_for_function("() => window.app.graph.getNodeById(1).widgets[0].options.values"
                           ".includes('slow-a.safetensors')")
    shot(page, "panel-done.png")

    # Pickle files: the panel asks in words; one confirmed, one declined.
    page.watch.expect_refusal("/api/mend/models/download", 403)  # "confirmation_required" until confirmed
    b, c = "model:2/ckpt_name", "model:3/ckpt_name"
    item(page, b).locator("[data-control='candidate']").first.click()
    wait_status(page, b, "confirm")
    assert "pickle" in item(page, b).locator(".mend-confirm").inner_text()
    item(page, b).locator("[data-control='confirm-download']").click()
    wait_status(page, b, "downloaded")
    item(page, c).locator("[data-control='candidate']").first.click()
    wait_status(page, c, "confirm")
    item(page, c).locator("[data-control='decline-download']").click()
    wait_status(page, c, "certain", "choose")
    assert not (server.models / "checkpoints" / "refused.ckpt").exists()

    page.locator("[data-control='clear-finished']").click()
    page.evaluate("() => window.__mend.flush()")
    # the done rows went (a failed one would stay, with Retry)
    assert page.locator("[aria-label='Downloads and installs'] .mend-row").count() == 0
    assert status_of(page, a) == "downloaded" and status_of(page, b) == "downloaded"  # the items still say so
    page.locator("[data-control='jobs-all-clients']").check()
    page.locator("[data-control='jobs-all-clients']").uncheck()


# ---- 4. a community workflow: packs, models, a restart ------------------------------------------------


def publish_packs(registry: ThreadedRegistry) -> None:
    reg = registry.registry
    reg.publish("comfyui-kjnodes", "1.1.0", node_pack_files("PathchSageAttentionKJ", name="comfyui-kjnodes"),
                repository="https://github.com/kijai/ComfyUI-KJNodes", node_types=("PathchSageAttentionKJ",))
    rife = {"__init__.py": (
        "class RifeVFI:\n"
        "    @classmethod\n"
        "    def INPUT_TYPES(cls):\n"
        "        return {'required': {'ckpt_name': (['rife47.pth', 'rife49.pth'],)}}\n"
        "    RETURN_TYPES = ()\n    FUNCTION = 'run'\n    OUTPUT_NODE = True\n    CATEGORY = 'mend-test'\n"
        "    def run(self, ckpt_name):\n        return ()\n"
        "NODE_CLASS_MAPPINGS = {'RIFE VFI': RifeVFI}\n"),
        "pyproject.toml": '[project]\nname = "comfyui-frame-interpolation"\nversion = "1.0.7"\n'}
    reg.publish("comfyui-frame-interpolation", "1.0.7", rife,
                repository="https://github.com/Fannovel16/ComfyUI-Frame-Interpolation", node_types=("RIFE VFI",))


def test_community_workflow_packs_models_and_restart(page, server: ComfyUI, hub: ThreadedHub, registry):
    publish_packs(registry)
    hub.hub.add_file(WAN, "split_files/vae/wan_2.1_vae.safetensors", safetensors_bytes(200_000, seed=11))
    hub.hub.add_file(LIGHTNING, LOW, safetensors_bytes(100_000, seed=12))
    hub.hub.add_file(LIGHTNING, HIGH, safetensors_bytes(100_000, seed=13))
    # The editor's own missing-nodes dialog opens too: Mend's toast must not cover its controls.
    page.evaluate("() => window.app.extensionManager.setting.set('Comfy.Workflow.ShowMissingNodesWarning', true)")
    assert page.evaluate("() => window.app.extensionManager.setting.get('Comfy.Workflow.ShowMissingModelsWarning')") \
        is False  # "Mend.OnePlace": the stock missing-models dialog stays shut
    community = json.loads(COMMUNITY.read_text())
    for node in community["nodes"]:
        # Its stamps pin git commits on github.com, out of reach here: without "ver" the plan installs
        # the registry's newest version, from the loopback registry.
        if node["type"] in ("PathchSageAttentionKJ", "RIFE VFI"):
            node["properties"].pop("ver", None)
    provide_images(server, community)
    load(page, community)
    toast = page.locator(".mend-toast")
    toast.wait_for(timeout=30_000, state="attached")
    page.locator(".p-dialog").first.wait_for(timeout=10_000)
    page.wait_for_timeout(700)  # the toast waits out the modal dialog (it would sit under its mask)
    covered = page.evaluate("""() => {
        const t = document.querySelector('.mend-toast').getBoundingClientRect();
        return [...document.querySelectorAll('.p-dialog button, .p-dialog a, .p-dialog input')].filter(b => {
          const r = b.getBoundingClientRect(); const x = r.left + r.width / 2, y = r.top + r.height / 2;
          return r.width && document.elementFromPoint(x, y)?.closest('.mend-toast'); }).length; }""")
    assert covered == 0
    assert toast.is_hidden()  # under the modal's mask it could not be reached
    close_dialogs(page)
    page.evaluate("() => window.app.extensionManager.setting.set('Comfy.Workflow.ShowMissingNodesWarning', false)")
    toast.wait_for(timeout=5_000)  # shown once the dialog closed, its time not used up
    toast.locator("[data-control='toast-resolve']").click()
    searched(page)

    vae = page.locator(".mend-item", has_text="wan_2.1_vae.safetensors")
    vae.locator("[data-control='candidate']").first.click()
    wait_status(page, vae.get_attribute("data-item"), "downloaded")

    low = page.locator(".mend-item", has_text=LOW)
    low_id = low.get_attribute("data-item")
    low.locator("[data-control='use-url']").click()  # an empty box: the item says what to paste
    item(page, low_id).locator(".mend-hint", has_text="download link").wait_for(timeout=5_000)
    item(page, low_id).locator("[data-control='url-input']").fill(f"https://huggingface.co/{LIGHTNING}/resolve/main/{LOW}")
    item(page, low_id).locator("[data-control='use-url']").click()
    wait_status(page, low_id, "downloaded")  # a URL decision shows its progress and ends like a candidate
    done = item(page, low_id)  # done: no "No source known", no URL box; Undo is there
    assert "No source known" not in done.inner_text() and done.locator("[data-control='url-input']").count() == 0
    assert done.locator("[data-control='undo']").count() == 1

    high = page.locator(".mend-item", has_text=HIGH)
    high_id = high.get_attribute("data-item")
    high.locator("[data-control='item-search']").click()
    page.wait_for_function("(id) => document.querySelector(`[data-item='${id}'] [data-control='candidate']`)",
                           arg=high_id)
    item(page, high_id).locator("[data-control='candidate']").first.click()
    wait_status(page, high_id, "downloaded")
    page.wait_for_timeout(1000)
    # Both LoRA widgets now name files ComfyUI lists (its "Value not in list" check passes for them).
    assert [b for b in loader_values_valid(page, server) if HIGH in b or LOW in b or "wan_2.1_vae" in b] == []

    oral = page.locator(".mend-item", has_text="wan2.2-i2v-low-oral-insertion-v1.0.safetensors")
    oral_id = oral.get_attribute("data-item")
    oral.locator("[data-control='optional']").click()
    wait_status(page, oral_id, "optional")
    item(page, oral_id).locator("[data-control='undo']").click()
    wait_status(page, oral_id, "no source", "choose")
    other = page.locator(".mend-item", has_text="wan2.2-i2v-high-oral-insertion-v1.0.safetensors")
    other.locator("[data-control='skip']").click()
    wait_status(page, other.get_attribute("data-item"), "skipped")

    # RIFE's model waits for its pack; its folder is not known yet: a guess, with a picker. The pack downloads it
    # on first use, so it is listed as not blocking, and says so.
    rife = page.locator(".mend-item", has_text="rife49.pth")
    rife_id = rife.get_attribute("data-item")
    assert status_of(page, rife_id) == "waits for pack"
    assert "fetched by its pack on first use" in rife.inner_text()
    assert page.locator(".mend-inactive .mend-item", has_text="rife49.pth").count() == 1
    page.evaluate("(id) => document.querySelector(`[data-item='${id}']`).scrollIntoView({ block: 'center' })", rife_id)
    shot(page, "panel-community.png")
    item(page, rife_id).locator("[data-control='item-install-pack']").click()
    settle(page, "Object.values(s.tasks).some(t => t.kind.includes('install'))")
    item(page, rife_id).locator("[data-control='item-folder']").select_option("upscale_models")
    page.wait_for_function("(id) => window.__mend.getState().folderChoice[id] === 'upscale_models'", arg=rife_id)
    kj = page.locator(".mend-group", has_text="KJNodes").locator("[data-control='group-install']")
    kj.click()
    settle(page, "Object.values(s.tasks).filter(t => t.kind.includes('install')"
           " && t.state === 'succeeded').length === 2", timeout=180_000)
    page.watch.expect_outage(server.url)
    page.locator("[data-control='restart']").click()
    # Back with the new nodes: definitions refreshed and the workflow's nodes re-created, no reload.
    settle(page, "s.restart === 'none' || s.restart === 'reload'", timeout=180_000)
    assert page.evaluate("() => window.__mend.getState().restart") == "none", page.evaluate(
        "() => [...new Set(window.app.graph.nodes.filter(n => !(n.type in LiteGraph.registered_node_types))"
        ".map(n => n.type))]")
    registered = page.evaluate("() => ['PathchSageAttentionKJ', 'RIFE VFI']"
                               ".map(t => t in LiteGraph.registered_node_types)")
    assert registered == [True, True]
    assert page.evaluate("() => window.app.graph.getNodeById(67).widgets?.[0]?.name") == "ckpt_name"
    assert page.evaluate("() => window.app.graph.getNodeById(61).has_errors") in (None, False)

    # Where the frontend cannot re-create them, the banner asks for a reload (forced here: it is rare).
    page.evaluate("() => window.__mend.dispatch({ type: 'restart/reload' })")
    page.evaluate("() => window.__mend.flush()")
    with page.expect_navigation():
        page.locator("[data-control='reload-page']").click()
    page.wait_for_function("() => window.app?.graph && window.__mend", timeout=90_000)
