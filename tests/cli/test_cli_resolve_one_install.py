"""Decisions made at different times that pin one pack at two versions are one install, at the newest, and
``mend resolve`` says so (never whichever node type came first)."""

from __future__ import annotations

import json

from mend.cli import main
from mend.core.decide.manifest import Manifest, set_op


def pinned(version: str) -> dict:
    return {"status": "resolved", "pack": "comfyui-alpha", "id": "comfyui-alpha", "version": version}


def test_two_pins_of_one_pack_are_one_install_at_the_newest(tmp_path, comfy_dir, small_catalog, capsys):
    wf = comfy_dir / "user" / "default" / "workflows" / "two.json"
    wf.parent.mkdir(parents=True, exist_ok=True)
    wf.write_text(json.dumps({"version": 0.4, "links": [], "nodes": [
        {"id": 1, "type": "AlphaNode"}, {"id": 2, "type": "AlphaOther"}]}))
    manifest = tmp_path / "state" / "pyproject.toml"
    state = Manifest(manifest)
    state.write([set_op("workflows", "two.json", "nodes", "AlphaOther", value=pinned("1.2.0")),
                 set_op("workflows", "two.json", "nodes", "AlphaNode", value=pinned("1.0.0"))])
    state.close()

    code = main(["resolve", str(wf), "--comfyui", str(comfy_dir), "--catalog-dir", str(small_catalog),
                 "--manifest", str(manifest), "--no-registry", "--no-fetch"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.count("install_pack:") == 1 and "install_pack: Comfy Registry: comfyui-alpha 1.2.0" in out
    assert ("comfyui-alpha: the decisions for its node types name 2 versions of this pack (1.0.0, 1.2.0): "
            "installs the newest release, 1.2.0") in out
