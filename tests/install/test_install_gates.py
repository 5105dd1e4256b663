"""A pack that does not fit this machine needs confirmation, a banned one never installs, a flagged one only
on loopback; a pack ComfyUI-Manager disabled is listed, offered "enable", and never copied a second time.

The routes run over a real aiohttp app with the real task manager, the registry and git stand-ins.
"""

from __future__ import annotations

import json
import sys
import types

import pytest

from mend.core.catalog.pack_compat import MachineFacts, conflicts, satisfies
from mend.core.install.manager import manager_loaded

from ..git_server import make_pack_repo, node_pack_files
from ..install_support import install, registry, registry_app, registry_env, venv_python, wheelhouse  # noqa: F401 (fixtures)


def test_version_ranges_and_fields():
    assert satisfies("0.8.0", ">=0.3.40") and not satisfies("0.8.0", ">=0.9.0")
    assert satisfies("0.8.0", "^0.8") and not satisfies("0.8.0", "~0.7.1") and satisfies("0.8.0", ">=0.3,<1")
    linux = MachineFacts(os="Linux", accelerator="CPU", comfyui_version="0.8.0")
    assert conflicts({"supported_os": ["OS Independent"], "supported_accelerators": []}, linux) == []
    assert [c["type"] for c in conflicts({"supported_accelerators": ["CUDA"]}, linux)] == ["accelerator"]
    assert conflicts({"supported_accelerators": ["CUDA"]}, MachineFacts(os="Linux")) == []  # unknown: not held


@pytest.mark.parametrize("compat", [{"supported_os": ["Windows"]}, {"supported_comfyui_version": ">=0.9.0"}])
async def test_a_pack_that_does_not_fit_needs_confirmation(app, compat):
    app.registry.publish("comfyui-picky", "1.0.0", node_pack_files("PickyNode"), **compat)
    resp = await app.client.post("/mend/nodes/install", json={"id": "comfyui-picky"})
    assert resp.status == 409
    error = (await resp.json())["error"]
    assert error["code"] == "incompatible" and "does not fit this machine" in error["message"]
    assert ("Windows" in error["message"]) or (">=0.9.0 (this is 0.8.0)" in error["message"])
    assert await app.mend.tasks.list() == [] and list(app.custom_nodes.iterdir()) == []

    resp = await app.client.post("/mend/nodes/install", json={"id": "comfyui-picky", "confirm_incompatible": True})
    assert resp.status == 202
    done = await app.mend.tasks.wait((await resp.json())["id"], timeout=120)
    assert done.state == "completed", done.to_json()
    assert done.result["confirmed_conflicts"][0]["type"] in ("os", "comfyui_version")
    assert (app.custom_nodes / "comfyui-picky" / "__init__.py").is_file()


async def test_a_banned_pack_is_refused_even_with_confirmation(app):
    app.registry.publish("comfyui-bad", "1.0.0", node_pack_files("BadNode"))
    app.registry.ban("comfyui-bad")
    for body in ({"id": "comfyui-bad"}, {"id": "comfyui-bad", "confirm_incompatible": True}):
        resp = await app.client.post("/mend/nodes/install", json=body)
        assert resp.status == 403 and (await resp.json())["error"]["code"] == "pack_banned"
    app.registry.publish("comfyui-badver", "1.0.0", node_pack_files("BadVer"), status="NodeVersionStatusBanned")
    done = await install(app, {"id": "comfyui-badver", "version": "1.0.0"})  # the CLI path: the task refuses
    assert done.state == "failed" and done.to_json()["error"]["code"] == "pack_banned"
    assert list(app.custom_nodes.iterdir()) == [] and app.mend.manifest.packs() == {}


async def test_a_flagged_version_installs_only_on_loopback(app):
    app.registry.publish("comfyui-flag", "1.0.0", node_pack_files("FlagNode"), status="NodeVersionStatusFlagged")
    runner = app.mend.extras["install_runner"]
    object.__setattr__(runner.policy, "allow_remote_risk", True)  # the operator allows remote installs ...
    app.mend.host.listen_addresses = lambda: ["0.0.0.0"]
    resp = await app.client.post("/mend/nodes/install", json={"id": "comfyui-flag"})
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "flagged_remote"  # ... but not flagged
    app.mend.host.listen_addresses = lambda: ["127.0.0.1"]
    done = await install(app, {"id": "comfyui-flag"})
    assert done.state == "completed", done.to_json()


@pytest.mark.parametrize("layout", [".disabled/{name}", ".disabled/{name}@1_0_0", "{name}.disabled"])
async def test_a_pack_manager_disabled_is_listed_and_enabled_not_copied(app, layout):
    make_pack_repo(app.repos, "ComfyUI-Off", [node_pack_files("OffNode")])
    disabled = app.custom_nodes / layout.format(name="ComfyUI-Off")
    disabled.parent.mkdir(parents=True, exist_ok=True)
    done = await install(app, {"repository": app.url("ComfyUI-Off")})
    assert done.state == "completed", done.to_json()
    (app.custom_nodes / "ComfyUI-Off").rename(disabled)  # what Manager's "disable" does

    listed = await (await app.client.get("/mend/nodes/installed")).json()
    assert [(p["name"], p["enabled"]) for p in listed["packs"]] == [("ComfyUI-Off", False)]

    resp = await app.client.post("/mend/nodes/install", json={"repository": app.url("ComfyUI-Off")})
    assert resp.status == 409
    error = (await resp.json())["error"]
    assert error["code"] == "pack_disabled" and error["folder"] == "ComfyUI-Off" and "enable it" in error["message"]
    resp = await app.client.post("/mend/nodes/install", json={"id": "comfyui-off", "repository": app.url("ComfyUI-Off"),
                                                              "folder": "other-name"})
    assert resp.status == 409  # same repository under another folder name: still the same pack
    old_layout = [disabled.name] if layout == "{name}.disabled" else []
    assert [p.name for p in app.custom_nodes.iterdir() if p.name != ".disabled"] == old_layout  # no second copy

    resp = await app.client.post("/mend/nodes/enable", json={"folder": "ComfyUI-Off"})
    assert resp.status == 200, await resp.text()
    assert (app.custom_nodes / "ComfyUI-Off" / "__init__.py").is_file() and not disabled.exists()
    listed = await (await app.client.get("/mend/nodes/installed")).json()
    assert [(p["name"], p["enabled"]) for p in listed["packs"]] == [("ComfyUI-Off", True)]
    assert listed["changes"][-1] == {"action": "enable", "folder": "ComfyUI-Off"}
    resp = await app.client.post("/mend/nodes/enable", json={"folder": "ComfyUI-Off"})
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"


async def test_the_analysis_offers_enable_for_a_disabled_pack(app):
    (app.custom_nodes / ".disabled" / "ComfyUI-Alpha" / ".git").mkdir(parents=True)
    (app.custom_nodes / ".disabled" / "ComfyUI-Alpha" / ".git" / "config").write_text(
        '[remote "origin"]\n\turl = https://github.com/alice/ComfyUI-Alpha.git\n')
    workflow = {"nodes": [{"id": 1, "type": "AlphaNode", "widgets_values": []}], "links": []}
    resp = await app.client.post("/mend/analyze", json={"workflow": workflow})
    assert resp.status == 200, await resp.text()
    [node] = (await resp.json())["missing_nodes"]
    plan = node["candidates"][0]["install"]
    assert plan["source"] == "enable" and plan["folder"] == "ComfyUI-Alpha" and "disabled" in plan["label"]


async def test_manager_counts_only_when_loaded(app, monkeypatch):
    (app.custom_nodes / "ComfyUI-Manager").mkdir()
    listed = await (await app.client.get("/mend/nodes/installed")).json()
    assert listed["manager"] is False and "custom_node" in listed["manager_on_disk"]  # on disk, not loaded
    monkeypatch.setitem(sys.modules, "comfyui_manager", types.ModuleType("comfyui_manager"))
    assert manager_loaded() == "pip"
    listed = await (await app.client.get("/mend/nodes/installed")).json()
    assert listed["manager"] is True and listed["manager_loaded"] == "pip"
    monkeypatch.delitem(sys.modules, "comfyui_manager")
    monkeypatch.setitem(sys.modules, str(app.custom_nodes / "ComfyUI-Manager"), types.ModuleType("m"))
    assert manager_loaded() == "custom_node"


def test_sync_enables_rather_than_copies_a_disabled_pack(tmp_path):
    from mend.core.environment.sync import plan_pack
    from mend.core.installed_packs import InstalledPack

    off = InstalledPack(name="ComfyUI-Off", path=tmp_path / ".disabled" / "ComfyUI-Off",
                        repository="https://github.com/a/comfyui-off", commit="a" * 40, enabled=False)
    item = plan_pack("ComfyUI-Off", {"source": "git", "repository": "https://github.com/a/ComfyUI-Off",
                                     "commit": "a" * 40}, [off])
    assert item.action == "conflict" and "disabled" in item.detail and "enable it" in item.detail


async def test_the_analysis_says_a_pack_does_not_fit_before_the_click(app, small_catalog):
    (small_catalog / "registry-nodes.json").write_text(json.dumps({"nodes": [
        {"id": "comfyui-alpha", "repository": "https://github.com/alice/ComfyUI-Alpha",
         "latest_version": {"version": "2.0.0", "supported_comfyui_version": ">=9.0"}}]}))
    workflow = {"nodes": [{"id": 1, "type": "AlphaNode", "widgets_values": []}], "links": []}
    resp = await app.client.post("/mend/analyze", json={"workflow": workflow})
    [node] = (await resp.json())["missing_nodes"]
    plan = node["candidates"][0]["install"]
    assert plan["body"]["id"] == "comfyui-alpha" and plan["conflicts"][0]["type"] == "comfyui_version"
    assert plan["label"] == ("Comfy Registry: comfyui-alpha (newest) — does not fit this machine: "
                             "needs ComfyUI >=9.0 (this is 0.8.0)")
