"""What the panel is shown is what it installs: one plan per pack on every row, the decision keeps it, and
posting that plan (as the panel's choice and "fix all" do) installs that source and version."""

from __future__ import annotations

import asyncio
import json

from ..git_server import node_pack_files
from ..install_support import registry, registry_app, registry_env, venv_python, wheelhouse  # noqa: F401 (fixtures)


def stamped(node_id: int, node_type: str, ver: str | None) -> dict:
    props = {"cnr_id": "comfyui-alpha", "ver": ver} if ver else {}
    return {"id": node_id, "type": node_type, "mode": 0, "properties": props, "widgets_values": []}


WORKFLOW = {"version": 0.4, "links": [], "nodes": [
    stamped(1, "AlphaNode", "1.0.0"), stamped(2, "AlphaOther", "1.2.0"), stamped(3, "SharedNode", None)]}


async def test_every_row_of_a_pack_shows_one_plan_and_that_plan_is_installed(app):
    for version in ("1.0.0", "1.2.0", "1.3.0"):
        app.registry.publish("comfyui-alpha", version, node_pack_files("AlphaNode"))
    wf = app.mend.host.user_dir() / "default" / "workflows" / "alpha.json"
    wf.parent.mkdir(parents=True, exist_ok=True)
    wf.write_text(json.dumps(WORKFLOW))

    resp = await app.client.post("/mend/analyze", json={"workflow": WORKFLOW, "registry": False})
    assert resp.status == 200
    rows = {n["type"]: n for n in (await resp.json())["missing_nodes"]}
    tops = {t: n["candidates"][0] for t, n in rows.items()}
    plans = {t: c["install"] for t, c in tops.items() if c["pack"]["title"] == "Alpha"}
    assert set(plans) == {"AlphaNode", "AlphaOther", "SharedNode"}
    assert {p["label"] for p in plans.values()} == {"Comfy Registry: comfyui-alpha 1.2.0"}  # the newest stamped
    assert "installs the newest release, 1.2.0" in rows["AlphaNode"]["candidates"][0]["explanation"]

    resp = await app.client.post("/mend/decisions", json={"workflow": "alpha.json", "node_type": "AlphaNode",
                                                          "action": "candidate", "candidate": 0})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["stored"] == {"status": "resolved", "pack": "comfyui-alpha", "id": "comfyui-alpha",
                                             "repository": "https://github.com/alice/ComfyUI-Alpha", "version": "1.2.0"}

    resp = await app.client.post("/mend/nodes/install", json=plans["AlphaNode"]["body"])
    assert resp.status == 202, await resp.text()
    task_id = (await resp.json())["id"]
    done = await app.mend.tasks.wait(task_id, timeout=120)
    assert done.state == "completed", done.to_json()
    assert done.result["source"] == "registry" and done.result["version"] == "1.2.0"
    assert "/files/comfyui-alpha/1.2.0.zip" in app.registry.requests
    packs = await asyncio.to_thread(app.mend.manifest.packs)
    assert packs["comfyui-alpha"]["version"] == "1.2.0" and packs["comfyui-alpha"]["source"] == "registry"
