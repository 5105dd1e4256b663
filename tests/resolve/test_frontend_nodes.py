"""Editor-only nodes of well-known packs, recorded from the packs' JavaScript (``scripts/record_frontend_nodes.py``)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

from .test_stamps import node, real_map, resolve  # noqa: F401 (real_map is a fixture)

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "record_frontend_nodes.py"


def _script():
    spec = importlib.util.spec_from_file_location("record_frontend_nodes", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_easy_use_set_and_get_nodes_are_its_editor_nodes(real_map):
    """Shared FLUX image2prompt workflow (vultur): ``easy setNode``/``easy getNode``, no Python class anywhere."""
    missing, _ = resolve(real_map, node(1, "easy setNode"), node(2, "easy getNode"), node(3, "LG_Note"))
    for node_type in ("easy setNode", "easy getNode"):
        top = missing[node_type].candidates[0]
        assert top.pack.repo_name == "comfyui-easy-use" and top.reason == "frontend"
        assert "implements in the editor only" in top.explain()
    assert missing["LG_Note"].candidates[0].pack.repo_name == "comfyui_lg_tools"


def test_the_scanner_reads_literal_and_class_registrations(tmp_path):
    record = _script()
    js = ('LiteGraph.registerNodeType("easy setNode", Object.assign(SetNode, {}));\n'
          'class Note extends LGraphNode { static setUp() { LiteGraph.registerNodeType(this.type, this); } }\n'
          'Note.type = "LG_Note"; widget.type = "range";\n'
          'class Muter { static type = "Muter (x)"; static t() { LiteGraph.registerNodeType(this.type, this) } }\n'
          'LiteGraph.registerNodeType("__NEED_CLASS_TYPE__", X); LiteGraph.registerNodeType(`${name}`, Y);\n')
    assert record.registered_types(js) == {"easy setNode", "LG_Note", "Muter (x)"}
    repo = tmp_path / "someone+Some-Pack" / "repo"
    repo.mkdir(parents=True)
    (repo / "web").mkdir()
    (repo / "web" / "nodes.js").write_text(js, encoding="utf-8")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    url, commit, types = record.scan(repo)
    assert url == "https://github.com/someone/Some-Pack" and len(commit) == 40 and "LG_Note" in types


def test_the_data_file_says_where_each_recorded_pack_was_read():
    data = json.loads((SCRIPT.parents[1] / "core" / "data" / "frontend_nodes.json").read_text(encoding="utf-8"))
    assert data["nodes"]["easy setNode"] == "https://github.com/yolain/ComfyUI-Easy-Use"
    assert all(len(commit) == 40 for commit in data["recorded_from"].values())
    assert {url for url in data["nodes"].values()} <= {*data["recorded_from"], "https://github.com/rgthree/rgthree-comfy"}
