"""A core node this ComfyUI lacks is explained, never offered as a pack (ComfyUI is not a custom-node pack)."""

from __future__ import annotations

import json

import pytest

from mend.core.catalog.node_map import NodeMap, Pack
from mend.core.catalog.store import CatalogStore
from mend.core.host_standalone import StandaloneHost
from mend.core.resolve.analyze import Analyzer
from mend.core.resolve.core_nodes import CoreFacts, core_note
from mend.core.resolve.nodes import resolve_missing
from mend.core.workflow.reader import WorkflowNode

from ..conftest import shared_path

CORE_REPOS = {"https://github.com/comfyanonymous/comfyui", "https://github.com/comfy-org/comfyui"}
AUDIO = CoreFacts("0.8.0", {"comfy_extras/nodes_audio.py": ["LoadAudio", "TrimAudioDuration", "audio"]})


@pytest.fixture(scope="module")
def real_map() -> NodeMap:
    return CatalogStore(catalog_dir=shared_path("catalog")).node_map()


def node(i: int, node_type: str, **stamps) -> WorkflowNode:
    return WorkflowNode(id=str(i), type=node_type, **stamps)


def test_a_core_type_from_the_map_is_no_pack_and_names_its_failed_module(real_map):
    missing, _ = resolve_missing([node(1, "LoadAudio"), node(2, "LTXVEmptyLatentAudio", cnr_id="comfy-core",
                                                               ver="0.3.68")], set(), real_map, set(), None, AUDIO)
    load, latent = missing["LoadAudio"], missing["LTXVEmptyLatentAudio"]
    assert load.core and load.candidates == [] and load.status == "unknown" and not load.auto
    assert load.to_json()["note"] == ("a core ComfyUI node this ComfyUI lacks: its module comfy_extras/nodes_audio.py "
                                      "failed to import (see ComfyUI's log)")
    # stamped with a version this ComfyUI has: not "update ComfyUI", its module did not load
    assert latent.core and latent.candidates == []
    assert latent.note == "a core ComfyUI node this ComfyUI lacks: its module failed to import (see ComfyUI's log)"


def test_a_core_stamp_newer_than_this_comfyui_needs_an_update(real_map):
    missing, _ = resolve_missing([node(1, "ComfyMathExpression", cnr_id="comfy-core", ver="0.17.0"),
                                  node(2, "ComfyMathExpression", cnr_id="comfy-core", ver="0.18.1")],
                                 set(), real_map, set(), None, AUDIO)
    entry = missing["ComfyMathExpression"]
    assert entry.candidates == [] and entry.needs_comfyui == "0.18.1"
    assert entry.note == "a core ComfyUI node this ComfyUI lacks: needs ComfyUI ≥ 0.18.1 (this is 0.8.0)"


def test_the_recorded_core_schema_is_a_witness_too(real_map):
    missing, _ = resolve_missing([node(1, "KSampler")], set(), real_map, set())
    assert missing["KSampler"].core and missing["KSampler"].candidates == []


def test_a_pack_stamp_on_a_core_named_type_keeps_the_pack_but_never_comfyui(real_map):
    missing, _ = resolve_missing([node(1, "LoadAudio", aux_id="someone/audio-pack")], set(), real_map, set())
    entry = missing["LoadAudio"]
    assert not entry.core and entry.note is None
    assert [c.pack.repository for c in entry.candidates][:1] == ["https://github.com/someone/audio-pack"]
    assert not any(c.pack.is_core for c in entry.candidates)


def test_a_registry_answer_naming_comfyui_is_no_candidate(real_map):
    core = Pack(repository="https://github.com/comfy-org/comfyui", title="ComfyUI", id="comfy-core")
    missing, _ = resolve_missing([node(1, "UnheardOfNode")], set(), real_map, set(), {"UnheardOfNode": core})
    assert missing["UnheardOfNode"].candidates == []


@pytest.mark.parametrize("needs,have,failed,said", [
    ("0.9.0", "0.8.0", {}, "needs ComfyUI ≥ 0.9.0 (this is 0.8.0)"),
    ("0.3.10", None, {}, "needs ComfyUI ≥ 0.3.10"),
    ("0.8.0", "0.8.0", {}, "its module failed to import (see ComfyUI's log)"),
    ("0.9.0", "0.8.0", {"comfy_extras/nodes_x.py": ["X"]}, "its module comfy_extras/nodes_x.py failed to import"),
    (None, "0.8.0", {}, "a newer ComfyUI has it, or a core module failed to import"),
])
def test_core_note_tells_the_causes_apart(needs, have, failed, said):
    assert said in core_note("X", needs, CoreFacts(have, failed))


def test_a_shared_ltx_workflow_on_a_comfyui_without_audio_nodes(tmp_path):
    """A user's LTX 2.3 image+audio-to-video workflow: audio core nodes and newer core nodes, no ComfyUI offered."""
    path = shared_path("corpus", "user-workflows", "wf",
                       "107_pjecuacion__comfyui_workflows__workflows_ltx-2-camera-control-loras_video_ltx2_3_ia2v_"
                       "working.json")
    object_info = json.loads(shared_path("corpus", "object_info-comfyui-0.8.0.json").read_text(encoding="utf-8"))
    comfy = tmp_path / "ComfyUI"
    (comfy / "models").mkdir(parents=True)
    (comfy / "comfyui_version.py").write_text('__version__ = "0.8.0"\n')
    host = StandaloneHost(comfy, object_info=object_info)
    analyzer = Analyzer(host, CatalogStore(catalog_dir=shared_path("catalog")))
    report = analyzer.analyze_sync(json.loads(path.read_text(encoding="utf-8"))).to_json()
    offered = [(n["type"], c["pack"]["repository"]) for n in report["missing_nodes"] for c in n["candidates"]
               if c["pack"]["repository"] in CORE_REPOS]
    assert offered == []
    core = {n["type"]: n for n in report["missing_nodes"] if n["core"]}
    assert "LoadAudio" in core and all(not n["candidates"] and not n["auto"] and n["note"] for n in core.values())
