"""A real ComfyUI with a loopback Comfy Registry whose ids differ from ComfyUI-Manager's: Install in the
editor's panel (Chromium; the same plan over HTTP when no browser is here) installs from the registry by
the registry id, the row showing that source before the click; a pack the registry
lacks installs from git; with the registry down an install falls back to git, saying so once; after the
restart Mend reports each pack loaded (with its node types) or failed to import (with ComfyUI's error),
and the failed one rolls back.

The catalog is ComfyUI-Manager's shape with Manager's own ids (``e2ereg``, ``e2egit``...), the registry's
list is paged from the stand-in at start-up, git is served by ``http.server`` (dumb protocol).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from ..git_server import make_pack_repo, node_pack_files
from ..registry_server import RegistryServer
from .browser import CHROMIUM, launch, open_editor, watch
from .comfyui_process import ComfyUI, comfyui_python, free_port, prepare_base
from .conftest import comfyui_path
from .test_install_e2e import finished, node_info, static_server, wait_for  # noqa: F401 (fixture)
from .threaded_hub import ThreadedApp

PACKS = {  # node type -> (repository name, Manager id, registry id or None)
    "MendE2EReg": ("ComfyUI-MendE2EReg", "e2ereg", "comfyui-mende2e-reg"),
    "MendE2EGit": ("ComfyUI-MendE2EGit", "e2egit", None),
    "MendE2EDown": ("ComfyUI-MendE2EDown", "e2edown", "comfyui-mende2e-down"),
    "MendE2EBroken": ("ComfyUI-MendE2EBroken", "e2ebroken", None),
}


def write_catalog(directory: Path, git_url: str) -> None:
    """ComfyUI-Manager's files for the four packs, with Manager's ids (never the registry's)."""
    directory.mkdir()
    repo = {t: f"{git_url}/{name}.git" for t, (name, _, _) in PACKS.items()}
    (directory / "extension-node-map.json").write_text(json.dumps(
        {repo[t]: [[t], {"title_aux": name}] for t, (name, _, _) in PACKS.items()}))
    (directory / "custom-node-list.json").write_text(json.dumps({"custom_nodes": [
        {"id": mid, "title": name, "reference": repo[t], "files": [repo[t]], "install_type": "git-clone"}
        for t, (name, mid, _) in PACKS.items()]}))
    (directory / "github-stats.json").write_text("{}")
    (directory / "model-list.json").write_text(json.dumps({"models": []}))


def analyze(server: ComfyUI, node_type: str) -> dict:
    workflow = {"nodes": [{"id": 1, "type": node_type, "widgets_values": []}], "links": []}
    status, report = server.post("/api/mend/analyze", {"workflow": workflow})
    assert status == 200, report
    [node] = report["missing_nodes"]
    return node["candidates"][0]


def install_plan_of(server: ComfyUI, node_type: str) -> dict:
    """What the panel's Install posts for this node type's pack (candidate.install.body), and the task."""
    plan = analyze(server, node_type)["install"]
    status, task = server.post("/api/mend/nodes/install", plan["body"])
    assert status == 202, task
    done = wait_for(lambda: finished(server, task["id"]), what=f"installing {node_type}")
    assert done["state"] == "completed", done.get("error", done)
    return {"plan": plan, "task": done}


def browser_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return CHROMIUM.exists()


def install_from_the_panel(server: ComfyUI, node_type: str, label: str) -> dict:
    """Load a workflow needing ``node_type`` in the editor, check the pack row's source, click its Install."""
    from playwright.sync_api import sync_playwright

    server.post("/api/settings", {"Comfy.Workflow.ShowMissingNodesWarning": False, "Comfy.TutorialCompleted": True})
    workflow = {"id": "5d0c3e7a-1f2b-4c3d-8e9f-0a1b2c3d4e5f", "revision": 0, "last_node_id": 1, "last_link_id": 0,
                "version": 0.4, "links": [], "groups": [], "config": {}, "extra": {},
                "nodes": [{"id": 1, "type": node_type, "pos": [300, 200], "size": [260, 80], "flags": {}, "order": 0,
                           "mode": 0, "inputs": [], "outputs": [], "properties": {}, "widgets_values": []}]}
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            open_editor(page, server)
            page.evaluate("(wf) => window.app.loadGraphData(wf)", workflow)
            page.locator(".mend-toast .mend-toast-resolve").first.click(timeout=30_000)
            row = page.locator(".mend-group", has_text=label)
            row.wait_for(timeout=30_000)  # the source it will use, before the click
            row.locator("[data-control=group-install]").click()
            page.wait_for_function("() => { const s = window.__mend.getState(); const t = s.tasks[s.taskOrder.at(-1)];"
                                   " return t && ['succeeded', 'failed'].includes(t.state); }", timeout=120_000)
            task_id = page.evaluate("() => { const s = window.__mend.getState(); return s.taskOrder.at(-1); }")
            assert errors == [], errors
        finally:
            browser.close()
    return server.get(f"/api/mend/tasks/{task_id}")[1]


def roll_back_from_the_panel(server: ComfyUI, folder: str, error: str) -> None:
    """Open the editor after the restart: the panel names the pack that failed to import; click Roll back."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            seen = watch(page)
            open_editor(page, server)
            page.evaluate("() => window.__mend.openPanel()")
            failure = page.locator(f".mend-import-failure[data-folder='{folder}']")
            failure.wait_for(timeout=30_000)
            assert error in failure.inner_text() and "failed to import" in failure.inner_text()
            failure.locator("[data-control=rollback-pack]").click()
            failure.wait_for(state="detached", timeout=60_000)
            assert page.evaluate("() => window.__mend.getState().restart") == "required"
            assert seen.unexpected() == [], seen.unexpected()
        finally:
            browser.close()


def test_registry_git_fallback_and_import_check_in_a_real_comfyui(tmp_path, static_server, e2e_env):
    path = comfyui_path()
    root, git_url = static_server
    registry = RegistryServer()
    served = ThreadedApp(registry.app).start()
    registry.base_url = served.endpoint
    for node_type, (name, _, registry_id) in PACKS.items():
        files = node_pack_files(node_type, name=registry_id or name.lower())
        if node_type == "MendE2EBroken":
            files["__init__.py"] = "raise RuntimeError('mend e2e: this pack is broken')\n"
        make_pack_repo(root, name, [files])
        if registry_id:
            registry.publish(registry_id, "1.0.0", files, repository=f"{git_url}/{name}")
    picky = node_pack_files("MendE2EPicky", name="comfyui-mende2e-picky")
    registry.publish("comfyui-mende2e-picky", "1.0.0", picky, supported_comfyui_version=">=9.0")  # not 0.8.0
    registry.publish("comfyui-mende2e-banned", "1.0.0", node_pack_files("MendE2EBanned"))
    registry.ban("comfyui-mende2e-banned")
    catalog = tmp_path / "catalog"
    write_catalog(catalog, git_url)

    base = tmp_path / "base"
    prepare_base(base)
    # two packs ComfyUI-Manager disabled, one per layout: ComfyUI loads neither
    for name, where in (("ComfyUI-MendE2EOff", ".disabled/ComfyUI-MendE2EOff"),
                        ("ComfyUI-MendE2EOld", "ComfyUI-MendE2EOld.disabled")):
        bare, _ = make_pack_repo(root, name, [node_pack_files(name.removeprefix("ComfyUI-"))])
        target = base / "custom_nodes" / where
        subprocess.run(["git", "clone", "-q", str(bare), str(target)], check=True)
        subprocess.run(["git", "remote", "set-url", "origin", f"{git_url}/{name}.git"], cwd=target, check=True)
    env = {**e2e_env, "MEND_CATALOG_DIR": str(catalog), "MEND_REGISTRY_URL": served.endpoint,
           "MEND_CACHE_DIR": str(tmp_path / "cache"), "MEND_GIT_HOSTS": "127.0.0.1",
           # analyses in threads: the helper processes cannot unpickle what a ComfyUI-loaded Mend sends
           # them (its module is named by its path there); see the notes of issue 17
           "MEND_ANALYSIS_PROCESSES": "0"}
    server = ComfyUI(base=base, port=free_port(), log_path=base / "comfyui.log", env=env)
    server.start(path, comfyui_python())
    try:
        # the registry's list was paged at start-up: the pack's registry id is the registry's, not Manager's
        wait_for(lambda: analyze(server, "MendE2EReg")["pack"]["cnr_id"], what="the registry's pack list")
        candidate = analyze(server, "MendE2EReg")
        assert candidate["pack"]["cnr_id"] == "comfyui-mende2e-reg" and candidate["pack"]["manager_id"] == "e2ereg"
        assert candidate["install"]["label"] == "Comfy Registry: comfyui-mende2e-reg (newest)"

        if browser_available():
            reg = {"task": install_from_the_panel(server, "MendE2EReg", candidate["install"]["label"])}
        else:
            reg = install_plan_of(server, "MendE2EReg")
        assert reg["task"]["state"] == "completed", reg["task"]
        assert reg["task"]["params"]["id"] == "comfyui-mende2e-reg"
        assert reg["task"]["result"]["source"] == "registry"
        assert reg["task"]["result"]["source_reason"].startswith("from the Comfy Registry: comfyui-mende2e-reg 1.0.0")
        assert (base / "custom_nodes" / "comfyui-mende2e-reg" / ".tracking").is_file()
        assert registry.install_calls == 0 and not [p for p in registry.requests if "e2ereg" in p]

        git = install_plan_of(server, "MendE2EGit")  # the registry has no such pack: git, default branch
        assert git["plan"]["label"].startswith("git: 127.0.0.1") and git["task"]["result"]["source"] == "git"
        assert (base / "custom_nodes" / "ComfyUI-MendE2EGit" / ".git").is_dir()

        served.stop()  # the registry goes down: the next install falls back to git and says why, once
        down = install_plan_of(server, "MendE2EDown")
        assert down["plan"]["source"] == "registry" and down["task"]["result"]["source"] == "git"
        assert down["task"]["attempt"] == 1
        assert "cannot reach 127.0.0.1: are you offline?" in down["task"]["result"]["source_reason"]

        broken = install_plan_of(server, "MendE2EBroken")
        assert broken["task"]["result"]["source"] == "git"

        # fits this machine? the registry is down now: the route's pre-check leaves it to the task, which
        # falls back to git; so check the gates while it is up again
        served = ThreadedApp(registry.app)
        served.port = int(registry.base_url.rsplit(":", 1)[1])
        served.start()
        status, refused = server.post("/api/mend/nodes/install", {"id": "comfyui-mende2e-picky"})
        assert status == 409 and refused["error"]["code"] == "incompatible", refused
        assert "needs ComfyUI >=9.0 (this is 0.8.0)" in refused["error"]["message"]
        status, task = server.post("/api/mend/nodes/install", {"id": "comfyui-mende2e-picky",
                                                                "confirm_incompatible": True})
        assert status == 202, task
        done = wait_for(lambda: finished(server, task["id"]), what="the confirmed install")
        assert done["state"] == "completed" and done["result"]["confirmed_conflicts"][0]["type"] == "comfyui_version"
        for body in ({"id": "comfyui-mende2e-banned"}, {"id": "comfyui-mende2e-banned", "confirm_incompatible": True}):
            status, refused = server.post("/api/mend/nodes/install", body)
            assert status == 403 and refused["error"]["code"] == "pack_banned", refused

        # disabled packs are installed packs: listed, never copied again
        status, installed = server.get("/api/mend/nodes/installed")
        listed = {p["name"]: p["enabled"] for p in installed["packs"]}
        assert listed["ComfyUI-MendE2EOff"] is False and listed["ComfyUI-MendE2EOld"] is False
        assert installed["manager"] is False  # no Manager loaded in this ComfyUI
        status, refused = server.post("/api/mend/nodes/install",
                                      {"repository": f"{git_url}/ComfyUI-MendE2EOff.git"})
        assert status == 409 and refused["error"]["code"] == "pack_disabled", refused

        status, answer = server.post("/api/mend/restart", {})
        assert status == 202, answer
        wait_for(lambda: node_info(server, "MendE2EDown"), what="ComfyUI to come back with the new nodes")
        assert node_info(server, "MendE2EOff") is None and node_info(server, "MendE2EOld") is None
        status, installed = server.get("/api/mend/nodes/installed")
        checks = {p["name"]: p.get("import_check") for p in installed["packs"]}
        for folder, node_type in (("comfyui-mende2e-reg", "MendE2EReg"), ("ComfyUI-MendE2EGit", "MendE2EGit"),
                                  ("ComfyUI-MendE2EDown", "MendE2EDown")):
            assert checks[folder]["status"] == "loaded" and checks[folder]["node_types"] == [node_type], checks
        failed = checks["ComfyUI-MendE2EBroken"]
        assert failed["status"] == "import_failed", failed
        assert failed["error"] == "mend e2e: this pack is broken"
        assert failed["log"][-1] == "RuntimeError: mend e2e: this pack is broken"
        assert "was installed but failed to import" in server.log()

        if browser_available():  # the panel shows the failure with ComfyUI's error and rolls it back
            roll_back_from_the_panel(server, "ComfyUI-MendE2EBroken", "mend e2e: this pack is broken")
        else:
            status, rolled = server.post("/api/mend/nodes/rollback", {"folder": "ComfyUI-MendE2EBroken"})
            assert status == 200, rolled
        assert not (base / "custom_nodes" / "ComfyUI-MendE2EBroken").exists()
        status, installed = server.get("/api/mend/nodes/installed")
        assert "ComfyUI-MendE2EBroken" not in {p["name"] for p in installed["packs"]}
        assert installed["restart_required"] is True
    finally:
        server.stop()
        served.stop()
