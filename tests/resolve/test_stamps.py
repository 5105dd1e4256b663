"""Stamps are evidence to check: garbage is a warning, a name is not an identity, copies never beat originals."""

from __future__ import annotations

import json

import pytest

from mend.core.catalog.node_map import NodeMap
from mend.core.catalog.store import CatalogStore
from mend.core.resolve.nodes import MissingNode, resolve_missing
from mend.core.workflow.reader import WorkflowNode, read_workflow

from ..conftest import shared_path
from .test_resolve_nodes import load, repos, write_catalog


@pytest.fixture(scope="module")
def real_map() -> NodeMap:
    return CatalogStore(catalog_dir=shared_path("catalog")).node_map()


def resolve(node_map: NodeMap, *nodes: WorkflowNode, installed_repos: frozenset = frozenset()):
    return resolve_missing(nodes, set(), node_map, set(installed_repos))


def node(i: int, node_type: str, **stamps) -> WorkflowNode:
    return WorkflowNode(id=str(i), type=node_type, **stamps)


@pytest.fixture
def catalog(tmp_path) -> NodeMap:
    return load(write_catalog(tmp_path / "c", {
        "visualbruno/ComfyUI-Trellis2": {"nodes": ["Trellis2Sampler"], "stars": 300},
        "kijai/ComfyUI-KJNodes": {"nodes": ["ImageResizeKJ"], "stars": 2000},
        "alice/orig": {"nodes": ["Shared", "AliceOwn"], "stars": 500},
        "bob/copy": {"nodes": ["Shared", "AliceOwn"], "stars": 3},
        "rgthree/rgthree-comfy": {"pattern": " \\(rgthree\\)$", "stars": 2500},
        "tool/encryptor": {"nodes": ["EncryptNode"], "stars": 5},
        "willmiao/ComfyUI-Lora-Manager": {"nodes": ["LoraLoaderLM"], "stars": 900},
    }))


@pytest.mark.parametrize(("stamp", "value"), [
    ("aux_id", "GetNode"), ("aux_id", "ComfyUI-WanVideoWrapper/"), ("aux_id", "a/b/c"), ("cnr_id", "\x00\x00\x00"),
    ("cnr_id", "has space"), ("aux_id", "-lead/repo"),
])
def test_garbage_stamps_are_warnings_not_candidates(catalog, stamp, value):
    missing, warnings = resolve(catalog, node(1, "UnknownThing", **{stamp: value}), node(2, "UnknownThing"))
    assert missing["UnknownThing"].candidates == []
    (w,) = warnings
    assert w.code == "stamp_ignored" and w.node_id == "1" and repr(value) in w.message


def test_a_repository_name_under_another_owner_is_never_auto(catalog):
    """TRELLIS2: the node's aux_id names PozzettiAndrea's repository, the catalogs know visualbruno's of that name."""
    missing, _ = resolve(catalog, node(1, "Trellis2Sampler", cnr_id="ComfyUI-TRELLIS2",
                                       aux_id="PozzettiAndrea/ComfyUI-TRELLIS2"))
    entry = missing["Trellis2Sampler"]
    assert repos(entry) == ["pozzettiandrea/comfyui-trellis2", "visualbruno/comfyui-trellis2"]
    assert [c.reason for c in entry.candidates] == ["git", "same_name"] and not entry.auto
    assert "install from git" in entry.candidates[0].explain()
    assert "fork or a rename" in entry.candidates[1].explain()


def test_an_explicit_aux_id_ranks_first_even_when_not_catalogued(catalog):
    missing, _ = resolve(catalog, node(1, "Shared", aux_id="carol/Private-Nodes"))
    assert repos(missing["Shared"])[0] == "carol/private-nodes" and not missing["Shared"].auto


def test_cnr_id_and_aux_id_naming_two_packs_offer_both_and_ask(tmp_path):
    nm = load(write_catalog(tmp_path / "c", {"kijai/ComfyUI-KJNodes": {"nodes": ["X"], "stars": 9},
                                             "other/pack": {"nodes": ["Y"], "stars": 9}}))
    nm.attach_registry([{"id": "comfyui-kjnodes", "repository": "https://github.com/kijai/ComfyUI-KJNodes"}])
    missing, _ = resolve(nm, node(1, "X", cnr_id="comfyui-kjnodes", aux_id="other/pack"))
    entry = missing["X"]
    assert set(repos(entry)) == {"kijai/comfyui-kjnodes", "other/pack"} and not entry.auto
    assert repos(entry)[0] == "kijai/comfyui-kjnodes"  # the one the map corroborates first
    # agreeing stamps are certain
    missing, _ = resolve(nm, node(1, "X", cnr_id="comfyui-kjnodes", aux_id="kijai/ComfyUI-KJNodes"))
    assert repos(missing["X"]) == ["kijai/comfyui-kjnodes"] and missing["X"].auto


def test_copies_never_beat_originals_on_the_real_map(real_map):
    """``Seed (rgthree)``: the only exact lister copies other packs; rgthree's own pattern wins."""
    missing, _ = resolve(real_map, node(1, "Seed (rgthree)"))
    assert repos(missing["Seed (rgthree)"])[0] == "rgthree/rgthree-comfy"


def test_a_re_stamping_tool_is_suspect_and_said(catalog):
    types = ["ImageResizeKJ", "Shared", "AliceOwn", "X (rgthree)"]
    nodes = [node(i, t, cnr_id="encryptor") for i, t in enumerate(types)]
    missing, warnings = resolve(catalog, *nodes)
    assert [w.code for w in warnings] == ["stamp_suspect"] and "'encryptor'" in warnings[0].message
    assert repos(missing["ImageResizeKJ"])[0] == "kijai/comfyui-kjnodes"
    assert repos(missing["X (rgthree)"])[0] == "rgthree/rgthree-comfy"


def test_a_core_node_this_comfyui_lacks_needs_a_newer_comfyui(catalog):
    missing, _ = resolve(catalog, node(1, "BrandNewCoreNode", cnr_id="comfy-core", ver="0.3.9"),
                         node(2, "BrandNewCoreNode", cnr_id="comfy-core", ver="0.3.10"))
    entry = missing["BrandNewCoreNode"]
    assert entry.core and entry.needs_comfyui == "0.3.10" and entry.candidates == []
    assert entry.to_json()["note"] == "a core ComfyUI node this ComfyUI lacks: needs ComfyUI ≥ 0.3.10"


def test_editor_only_nodes_of_known_packs(real_map):
    missing, _ = resolve(real_map, node(1, "SetNode"), node(2, "GetNode"))
    assert repos(missing["GetNode"]) == ["kijai/comfyui-kjnodes"]
    assert missing["GetNode"].candidates[0].reason == "frontend"
    installed = frozenset({"https://github.com/kijai/comfyui-kjnodes"})
    missing, _ = resolve(real_map, node(1, "SetNode"), installed_repos=installed)
    assert missing == {}  # the server never lists them: with KJNodes installed they are not missing


def test_a_pack_name_in_the_type_is_a_hint_never_auto(catalog):
    missing, _ = resolve(catalog, node(1, "Lora Loader (LoraManager)"))
    entry: MissingNode = missing["Lora Loader (LoraManager)"]
    assert repos(entry) == ["willmiao/comfyui-lora-manager"] and entry.candidates[0].reason == "name_hint"
    assert not entry.auto


def test_garbage_stamps_of_real_shared_workflows_are_warned(real_map):
    folder = shared_path("corpus", "user-workflows", "wf")
    said = set()
    for path in sorted(folder.iterdir()):
        nodes = read_workflow(json.loads(path.read_text(encoding="utf-8"))).nodes
        missing, warnings = resolve_missing(nodes, real_map.core_types(), real_map, set())
        said |= {w.message.split(" is not")[0] for w in warnings if w.code == "stamp_ignored"}
        for entry in missing.values():
            assert not any(c.pack.repository in ("https://github.com/getnode", "https://github.com/setnode")
                           or "\x00" in c.pack.repository for c in entry.candidates)
    assert {"aux_id 'GetNode'", "aux_id 'SetNode'", "aux_id 'ComfyUI-WanVideoWrapper/'"} <= said


def test_a_newer_node_of_a_name_family_is_a_hint_never_auto(real_map):
    """``LTXVAddLatents`` is newer than the map; Lightricks lists most ``LTXV…`` names. Plain words are no family."""
    missing, _ = resolve(real_map, node(1, "LTXVAddLatents"), node(2, "LoadSomethingNew"))
    entry = missing["LTXVAddLatents"]
    assert repos(entry) == ["lightricks/comfyui-ltxvideo"] and entry.candidates[0].reason == "name_hint"
    assert not entry.auto
    assert missing["LoadSomethingNew"].candidates == []


def test_a_registry_id_matches_a_repository_name_without_decorations(real_map):
    """Registry id ``seedvr2_videoupscaler`` names ``ComfyUI-SeedVR2_VideoUpscaler``: evidence, no contradiction."""
    nodes = [node(i, t, cnr_id="seedvr2_videoupscaler")
             for i, t in enumerate(["SeedVR2LoadDiTModel", "SeedVR2LoadVAEModel", "SeedVR2VideoUpscaler"])]
    missing, warnings = resolve(real_map, *nodes)
    assert warnings == []
    assert missing["SeedVR2LoadDiTModel"].candidates[0].reason == "stamp_name"
    assert repos(missing["SeedVR2LoadDiTModel"])[0].endswith("/comfyui-seedvr2_videoupscaler")


def test_a_cnr_id_alone_takes_the_repository_another_node_pairs_it_with(catalog):
    """TRELLIS2 as shared: one node carries cnr_id and aux_id, the others only the cnr_id."""
    missing, _ = resolve(catalog,
                         node(1, "Trellis2Loader", cnr_id="comfyui-trellis2", aux_id="PozzettiAndrea/ComfyUI-TRELLIS2"),
                         node(2, "Trellis2Sampler", cnr_id="comfyui-trellis2"))
    entry = missing["Trellis2Sampler"]
    assert repos(entry)[:2] == ["pozzettiandrea/comfyui-trellis2", "visualbruno/comfyui-trellis2"]
    assert not entry.auto


def test_a_stamp_naming_the_former_repository_the_catalog_records_is_the_pack(real_map):
    """Stamped ``mit-han-lab/ComfyUI-nunchaku`` (as in shared Nunchaku workflows); Manager lists the pack at
    ``nunchaku-tech`` with author ``mit-han-lab``: the same pack, confirmed, and the move is said."""
    missing, _ = resolve(real_map, node(1, "NunchakuFluxDiTLoader", cnr_id="ComfyUI-nunchaku",
                                        aux_id="mit-han-lab/ComfyUI-nunchaku"))
    entry = missing["NunchakuFluxDiTLoader"]
    assert repos(entry)[0] == "nunchaku-tech/comfyui-nunchaku" and entry.candidates[0].reason == "aux_id"
    assert entry.auto and "the repository moved" in entry.candidates[0].explain()


def test_a_moved_repository_is_recorded_only_under_a_free_github_owner(tmp_path):
    node_map = load(write_catalog(tmp_path / "c", {
        "neworg/Pack": {"nodes": ["A"], "author": "oldowner"},
        "alice/Other": {"nodes": ["B"], "author": "Dr. Alice"},  # a display name, not an owner
        "bob/Taken": {"nodes": ["C"], "author": "carol"},
        "carol/Taken": {"nodes": ["D"]},  # carol's own repository is a pack of its own
    }))
    assert node_map.pack_by_url("https://github.com/oldowner/pack").repository == "https://github.com/neworg/pack"
    assert not node_map.packs["https://github.com/alice/other"].moved_from
    assert node_map.pack_by_url("https://github.com/carol/taken").repository == "https://github.com/carol/taken"


@pytest.mark.parametrize(("stamp", "types", "pack"), [
    # Zuntan03's FramePack workflow: kijai's original, which the map lists only under forks named after it
    ({"aux_id": "kijai/ComfyUI-FramePackWrapper"},
     ["FramePackFindNearestBucket", "FramePackSampler", "FramePackTorchCompileSettings", "LoadFramePackModel"],
     "kijai/comfyui-framepackwrapper"),
    # UmeAiRT's PuLID workflows: the pack's own registry id; the map lists the types under a fork
    ({"cnr_id": "comfyui_pulid_flux_ll"},
     ["ApplyPulidFlux", "PulidFluxEvaClipLoader", "PulidFluxInsightFaceLoader", "PulidFluxModelLoader"],
     "lldacing/comfyui_pulid_flux_ll"),
    # a registry id equal to ComfyUI-Manager's id of the pack that lists the types (WAS Node Suite (Revised))
    ({"cnr_id": "was-ns"}, ["Image Save", "Save Text File", "Text Multiline"], "ltdrdata/was-node-suite-comfyui"),
])
def test_a_good_stamp_on_a_fork_family_is_not_suspect(real_map, stamp, types, pack):
    missing, warnings = resolve(real_map, *(node(i, t, **stamp) for i, t in enumerate(types)))
    assert [w for w in warnings if w.code == "stamp_suspect"] == []
    assert all(repos(missing[t])[0] == pack for t in types)


def test_a_registry_id_that_is_only_managers_id_names_that_repository(real_map):
    """``comfyui-qwen3-tts``-like: no registry index, no repository of that name; Manager's id names the pack."""
    missing, _ = resolve(real_map, node(1, "Image Save", cnr_id="was-ns"))
    top = missing["Image Save"].candidates[0]
    assert top.reason == "manager_id" and top.pack.repository == "https://github.com/ltdrdata/was-node-suite-comfyui"
    assert missing["Image Save"].auto  # the map lists the type there: corroborated
    assert "id" not in top.to_json()["install"]["body"]  # installed from its repository, never by Manager's id


def test_a_newer_node_of_a_family_by_its_ending_is_a_hint_never_auto(real_map):
    """``UnetLoaderGGUFDisTorchMultiGPU`` (shared Wan VACE GGUF workflows): the map lists none of its leading
    parts as a family, but most ``…MultiGPU`` names are ComfyUI-MultiGPU's."""
    missing, _ = resolve(real_map, node(1, "UnetLoaderGGUFDisTorchMultiGPU"), node(2, "CLIPLoaderGGUFMultiGPU"))
    for node_type in ("UnetLoaderGGUFDisTorchMultiGPU", "CLIPLoaderGGUFMultiGPU"):
        entry = missing[node_type]
        assert repos(entry) == ["pollockjj/comfyui-multigpu"] and entry.candidates[0].reason == "name_hint"
        assert not entry.auto


def test_a_pair_the_map_splits_over_two_packs_is_asked(real_map):
    """``LTXDirector`` + ``LTXDirectorGuide`` (shared LTX 2.3 workflows; both kijai/ComfyUI-PromptRelay's, which the
    map does not hold): the map lists each under a different pack, so neither sole lister is certain."""
    missing, _ = resolve(real_map, node(1, "LTXDirector"), node(2, "LTXDirectorGuide"))
    assert not missing["LTXDirector"].auto and not missing["LTXDirectorGuide"].auto
    kept, _ = resolve(real_map, node(1, "ImageResizeKJ"), node(2, "ImageResizeKJv2"))  # one pack lists both
    assert kept["ImageResizeKJv2"].auto


def test_among_equal_listers_the_pack_named_after_the_node_leads(real_map):
    """``Audio Duration`` (lukiqc's LTX-2 workflows): listed by an aggregator and by ``comfy-audio-duration``."""
    missing, _ = resolve(real_map, node(1, "Audio Duration"))
    top = missing["Audio Duration"].candidates[0]
    assert top.pack.repo_name == "comfy-audio-duration" and "named after the node" in top.explain()
    assert not missing["Audio Duration"].auto
