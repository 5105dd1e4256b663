"""Evidence from ComfyUI-Manager's dev and legacy channels, with the real default catalog and real channel entries.

Dev listings rank below any default-channel listing and are never ``auto``; a stamp naming a pack the
legacy channel lists as deprecated resolves to the pack that replaces it, the original beside it.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from mend.core.catalog.node_map import NodeMap
from mend.core.catalog.registry import RegistryClient
from mend.core.catalog.store import CatalogStore
from mend.core.resolve.nodes import resolve_missing
from mend.core.workflow.reader import WorkflowNode, read_workflow

from ..catalog.test_channels import with_channels
from ..conftest import shared_path

TRELLIS2 = "https://github.com/pozzettiandrea/comfyui-trellis2"
WAS = "https://github.com/wasasquatch/was-node-suite-comfyui"
WAS_REVISED = "https://github.com/ltdrdata/was-node-suite-comfyui"
#: a user's workflow (shared corpus) whose WAS nodes are stamped ``was-node-suite-comfyui``, paired with WASasquatch
WAS_WORKFLOW = "198_ritikvirus__runpod-comfyui-wan-workflows__workflows_QWEN_BODY_CREATION_IMAGE_STITCHING.json"


@pytest.fixture(scope="module")
def channel_map(tmp_path_factory) -> NodeMap:
    folder = with_channels(tmp_path_factory.mktemp("cat"), shared_path("catalog"))
    return CatalogStore(catalog_dir=folder, registry=RegistryClient("")).node_map()


@pytest.fixture(scope="module")
def default_map() -> NodeMap:
    return CatalogStore(catalog_dir=shared_path("catalog"), registry=RegistryClient("")).node_map()


def resolve(node_map: NodeMap, *nodes: WorkflowNode):
    missing, _ = resolve_missing(list(nodes), set(), node_map, set())
    return missing


def test_a_type_only_the_dev_channel_lists_is_offered_never_auto(channel_map, default_map):
    node = WorkflowNode(id="1", type="LoadTrellis2Models")
    entry = resolve(channel_map, node)["LoadTrellis2Models"]
    top = entry.candidates[0]
    assert (top.pack.repository, top.reason) == (TRELLIS2, "dev")
    assert "dev channel (packs in development)" in top.explain()
    assert not entry.auto and entry.status == "ambiguous"
    assert resolve(default_map, node)["LoadTrellis2Models"].candidates == []  # the default channel knows nothing


def test_a_dev_pack_of_a_type_seen_missing_in_real_workflows(channel_map):
    """``PoseAndFaceDetection`` is in the dev channel only (kijai's WanAnimatePreprocess)."""
    entry = resolve(channel_map, WorkflowNode(id="1", type="PoseAndFaceDetection"))["PoseAndFaceDetection"]
    assert [c.reason for c in entry.candidates] == ["dev"]
    assert entry.candidates[0].pack.repository == "https://github.com/kijai/comfyui-wananimatepreprocess"


def test_a_default_listing_beats_a_dev_listing_of_the_same_type(small_catalog):
    dev = small_catalog / "node_db" / "dev"
    dev.mkdir(parents=True)
    (dev / "extension-node-map.json").write_text(json.dumps({
        "https://github.com/zed/ComfyUI-Alpha-Next": [["AlphaNode", "AlphaNext"], {"title_aux": "Alpha Next [WIP]"}]}))
    (dev / "github-stats.json").write_text(json.dumps({"https://github.com/zed/ComfyUI-Alpha-Next": {"stars": 9000}}))
    node_map = CatalogStore(catalog_dir=small_catalog, registry=RegistryClient("")).node_map()
    missing = resolve(node_map, WorkflowNode(id="1", type="AlphaNode"), WorkflowNode(id="2", type="AlphaNext"))
    assert [(c.pack.repo_name, c.reason) for c in missing["AlphaNode"].candidates] == [
        ("comfyui-alpha", "exact"), ("comfyui-alpha-next", "dev")]  # stars and coverage do not lift a dev listing
    assert missing["AlphaNode"].auto  # the one pack the default channel lists: a pack in development is no rival
    assert not missing["AlphaNext"].auto


def test_a_stamp_naming_a_dev_pack_keeps_its_identity(channel_map):
    node = WorkflowNode(id="1", type="LoadTrellis2Models", aux_id="PozzettiAndrea/ComfyUI-TRELLIS2")
    entry = resolve(channel_map, node)["LoadTrellis2Models"]
    top = entry.candidates[0]
    assert (top.pack.repository, top.reason) == (TRELLIS2, "git")
    assert top.pack.url == "https://github.com/PozzettiAndrea/ComfyUI-TRELLIS2"  # cloned as the channel spells it
    assert "dev channel only" in top.explain()
    others = [c for c in entry.candidates[1:]]
    assert others and all(c.reason == "same_name" for c in others)  # visualbruno's Trellis2: beside, not as it
    assert not entry.auto


def test_a_stamp_naming_a_deprecated_pack_resolves_to_its_replacement(channel_map, default_map):
    doc = json.loads(shared_path("corpus", "user-workflows", "wf", WAS_WORKFLOW).read_text(encoding="utf-8"))
    nodes = read_workflow(doc).nodes
    was_types = {n.type for n in nodes if n.cnr_id == "was-node-suite-comfyui"}
    assert was_types
    stamped = [dataclasses.replace(n, aux_id="WASasquatch/was-node-suite-comfyui") if n.type in was_types else n
               for n in nodes]
    for node_type, entry in resolve(channel_map, *stamped).items():
        if node_type not in was_types:
            continue
        first, second = entry.candidates[:2]
        assert (first.pack.repository, first.reason) == (WAS_REVISED, "replacement")
        assert "WASasquatch/was-node-suite-comfyui" in first.explain().replace("wasasquatch", "WASasquatch")
        assert "deprecated" in first.explain() and "replaces it" in first.explain()
        assert (second.pack.repository, second.reason) == (WAS, "git")  # the original, offered beside it
        assert "legacy channel only" in second.explain()
        assert not entry.auto
    # without the legacy channel the same stamp is a git install of the archived original, the revision "same name"
    plain = resolve(default_map, *stamped)[next(iter(was_types))]
    assert [c.reason for c in plain.candidates][:2] == ["git", "same_name"]


def test_the_replacement_says_so_when_the_map_alone_names_it(channel_map):
    node_type = "Text Concatenate"
    entry = resolve(channel_map, WorkflowNode(id="1", type=node_type))[node_type]
    top = entry.candidates[0]
    assert (top.pack.repository, top.reason) == (WAS_REVISED, "exact")
    assert "replaces wasasquatch/was-node-suite-comfyui, deprecated in ComfyUI-Manager" in top.explain()
