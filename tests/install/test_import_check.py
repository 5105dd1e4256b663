"""After the restart Mend checks each pack it installed: loaded (with its node types) or failed to import
(with ComfyUI's error), shown by GET /mend/nodes/installed; a failed one rolls back (folder, pip, manifest).

ComfyUI's side (``LoadState``: the folders it imported, each node type's module, its log) is what
``ComfyHost.load_state`` reads from a running ComfyUI; the e2e test does this in a real one.
"""

from __future__ import annotations

import subprocess

import mend.core.install.import_check as import_check
from mend.core.install.import_check import LoadState, import_error

from ..git_server import make_pack_repo, node_pack_files
from ..install_support import install, registry, registry_app, registry_env, venv_python, wheelhouse  # noqa: F401 (fixtures)

COMFY_LOG = """Starting server
Traceback (most recent call last):
  File "/srv/ComfyUI/nodes.py", line 2151, in load_custom_node
    module_spec.loader.exec_module(module)
  File "/srv/ComfyUI/custom_nodes/ComfyUI-Broken/__init__.py", line 1, in <module>
    raise RuntimeError('this pack is broken')
RuntimeError: this pack is broken

Cannot import /srv/ComfyUI/custom_nodes/ComfyUI-Broken module for custom nodes: this pack is broken
Import times for custom nodes:
"""


def test_the_error_comes_from_comfyuis_log():
    error, trace = import_error(COMFY_LOG, "ComfyUI-Broken")
    assert error == "this pack is broken"
    assert "ComfyUI-Broken/__init__.py" in "\n".join(trace) and trace[-1] == "RuntimeError: this pack is broken"
    assert import_error(COMFY_LOG, "Broken") == (None, [])  # the folder's own name, not a suffix of another


def pip_has(python: str, name: str) -> bool:
    out = subprocess.run([python, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True).stdout
    return any(line.lower().startswith(name + "==") for line in out.splitlines())


async def test_loaded_or_failed_after_the_restart_and_rollback(app, venv_python, monkeypatch):
    make_pack_repo(app.repos, "ComfyUI-Good", [node_pack_files("GoodNode")])
    broken = node_pack_files("BrokenNode", requirements="mend-dep-second\n")
    broken["__init__.py"] = "raise RuntimeError('this pack is broken')\n"
    make_pack_repo(app.repos, "ComfyUI-Broken", [broken])
    for name in ("ComfyUI-Good", "ComfyUI-Broken"):
        done = await install(app, {"repository": app.url(name)})
        assert done.state == "completed", done.to_json()
    assert pip_has(venv_python, "mend-dep-second")

    listed = await (await app.client.get("/mend/nodes/installed")).json()
    assert {p["name"]: p["import_check"]["status"] for p in listed["packs"]} == {
        "ComfyUI-Broken": "restart_required", "ComfyUI-Good": "restart_required"}

    # the restart: ComfyUI imported Good (one node type) and logged Broken's traceback
    monkeypatch.setattr(import_check, "PROCESS_START", import_check.time.time() + 1)
    app.mend.host.load_state = lambda: LoadState(
        loaded_folders={"ComfyUI-Good", "some-other-pack"},
        node_modules={"GoodNode": "custom_nodes.ComfyUI-Good", "KSampler": "nodes"}, log_text=COMFY_LOG)
    listed = await (await app.client.get("/mend/nodes/installed")).json()
    checks = {p["name"]: p["import_check"] for p in listed["packs"]}
    assert checks["ComfyUI-Good"]["status"] == "loaded" and checks["ComfyUI-Good"]["node_types"] == ["GoodNode"]
    assert checks["ComfyUI-Broken"]["status"] == "import_failed"
    assert checks["ComfyUI-Broken"]["error"] == "this pack is broken"
    assert checks["ComfyUI-Broken"]["log"][-1] == "RuntimeError: this pack is broken"

    resp = await app.client.post("/mend/nodes/rollback", json={"folder": "ComfyUI-Broken"})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["rolled_back"] == "ComfyUI-Broken" and body["pip_not_restored"] == []
    assert not (app.custom_nodes / "ComfyUI-Broken").exists() and (app.custom_nodes / "ComfyUI-Good").is_dir()
    assert not pip_has(venv_python, "mend-dep-second")
    assert "ComfyUI-Broken" not in app.mend.manifest.packs() and "ComfyUI-Good" in app.mend.manifest.packs()
    listed = await (await app.client.get("/mend/nodes/installed")).json()
    assert [p["name"] for p in listed["packs"]] == ["ComfyUI-Good"]
    assert listed["changes"][-1] == {"action": "rollback", "folder": "ComfyUI-Broken"}

    resp = await app.client.post("/mend/nodes/rollback", json={"folder": "ComfyUI-Broken"})
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"
    resp = await app.client.post("/mend/nodes/rollback", json={"folder": "../etc"})
    assert resp.status == 400
