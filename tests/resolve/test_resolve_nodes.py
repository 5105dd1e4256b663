"""Ranking of the packs that provide missing node types: real catalogs, the templates, and tie-break rules."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from mend.core.catalog.node_map import NodeMap
from mend.core.catalog.store import CatalogStore
from mend.core.errors import MendError
from mend.core.resolve.nodes import MissingNode, missing_nodes, rank_candidates
from mend.core.workflow.reader import WorkflowNode, read_workflow

from ..conftest import shared_path

# -- helpers ---------------------------------------------------------------------------------


def rank(node_map: NodeMap, *types: str, installed: set[str] | None = None, **hints) -> dict[str, MissingNode]:
    """Rank the candidates for a workflow missing ``types`` (``hints`` maps a type to its node's cnr_id/aux_id)."""
    nodes = [WorkflowNode(id=str(i), type=t, **hints.get(t.replace(" ", "_"), {})) for i, t in enumerate(types)]
    missing = missing_nodes(nodes, set())
    rank_candidates(missing, node_map, installed or set())
    return missing


def repos(entry: MissingNode) -> list[str]:
    return [c.pack.repository.removeprefix("https://github.com/") for c in entry.candidates]


def write_catalog(directory: Path, packs: dict[str, dict], listed: list[dict] | None = None) -> Path:
    """A self-written catalog: ``packs`` maps a GitHub ``owner/repo`` to {nodes, stars, pattern, preempts}."""
    directory.mkdir(parents=True, exist_ok=True)
    node_map = {
        f"https://github.com/{repo}": [p.get("nodes", []), {
            "title_aux": repo.split("/")[1],
            **({"nodename_pattern": p["pattern"]} if "pattern" in p else {}),
            **({"preemptions": p["preempts"]} if "preempts" in p else {}),
        }]
        for repo, p in packs.items()
    }
    if listed is None:  # registered in the order given: the first is the oldest
        listed = [{"reference": f"https://github.com/{repo}", "files": [f"https://github.com/{repo}"],
                   "title": repo.split("/")[1], "author": packs[repo].get("author", repo.split("/")[0])}
                  for repo in packs]
    (directory / "extension-node-map.json").write_text(json.dumps(node_map))
    (directory / "custom-node-list.json").write_text(json.dumps({"custom_nodes": listed}))
    (directory / "github-stats.json").write_text(json.dumps(
        {f"https://github.com/{repo}": {"stars": p.get("stars", 0)} for repo, p in packs.items()}))
    return directory


def load(directory: Path) -> NodeMap:
    return CatalogStore(catalog_dir=directory, cache_dir=directory / "cache").node_map()


@pytest.fixture(scope="module")
def real_map() -> NodeMap:
    return CatalogStore(catalog_dir=shared_path("catalog")).node_map()


# -- the real catalogs -----------------------------------------------------------------------


@pytest.mark.parametrize(("node_type", "repo"), [
    ("VHS_VideoCombine", "kosinkadink/comfyui-videohelpersuite"),
    ("WanVideoSampler", "kijai/comfyui-wanvideowrapper"),  # also in a fork with extra nodes
    ("ImageResizeKJ", "kijai/comfyui-kjnodes"),
    ("UltimateSDUpscale", "ssitu/comfyui_ultimatesdupscale"),  # also in an aggregator that copies many packs
    ("ApplyPulid", "cubiq/pulid_comfyui"),
    ("ApplyPulidFlux", "lldacing/comfyui_pulid_flux_ll"),  # a copy preempts it: the claim is not trusted
    ("Efficient Loader", "jags111/efficiency-nodes-comfyui"),
    ("InpaintCropImproved", "lquesada/comfyui-inpaint-cropandstitch"),
    ("CR Apply LoRA Stack", "suzie1/comfyui_comfyroll_customnodes"),
    ("easy fullLoader", "yolain/comfyui-easy-use"),
])
def test_well_known_types_resolve_to_their_pack(real_map, node_type, repo):
    assert repos(rank(real_map, node_type)[node_type])[0] == repo


@pytest.mark.parametrize(("node_type", "owner"), [
    ("UnetLoaderGGUF", "city96/comfyui-gguf"),
    ("IPAdapterAdvanced", "cubiq/comfyui_ipadapter_plus"),
    ("Florence2Run", "kijai/comfyui-florence2"),
    ("SAMLoader", "ltdrdata/comfyui-impact-pack"),
])
def test_preempted_names_go_to_their_owner(real_map, node_type, owner):
    entry = rank(real_map, node_type)[node_type]
    assert repos(entry)[0] == owner
    assert entry.candidates[0].reason == "preemption" and entry.auto


def test_pattern_only_pack_is_found(real_map):
    entry = rank(real_map, "Show any [Crystools]")["Show any [Crystools]"]
    assert repos(entry) == ["crystian/comfyui-crystools"]
    assert entry.candidates[0].reason == "pattern"
    assert "pattern" in entry.candidates[0].explain()


def test_type_of_several_packs_is_ambiguous_with_all_ranked(real_map):
    entry = rank(real_map, "ApplyPulid")["ApplyPulid"]
    listed = {p.repository for p in real_map.exact("ApplyPulid")}
    assert len(listed) >= 3
    assert entry.status == "ambiguous" and not entry.auto
    assert {c.pack.repository for c in entry.candidates} == listed
    top, *rest = entry.candidates
    assert top.pack.repository == "https://github.com/cubiq/pulid_comfyui"
    copier = next(c for c in rest if c.pack.repository.endswith("mobcat40/comfyui-promptchain"))
    assert "most of its nodes are also in" in copier.explain()


def test_aggregator_does_not_outscore_the_packs_it_copied(real_map):
    """A workflow using PuLID and IPAdapter nodes: an aggregator lists all of them, the two authors win."""
    missing = rank(real_map, "ApplyPulid", "PulidModelLoader", "IPAdapterUnifiedLoader", "IPAdapterAdvanced")
    assert repos(missing["ApplyPulid"])[0] == "cubiq/pulid_comfyui"
    assert repos(missing["PulidModelLoader"])[0] == "cubiq/pulid_comfyui"
    assert repos(missing["IPAdapterUnifiedLoader"])[0] == "cubiq/comfyui_ipadapter_plus"


def test_renamed_and_forked_urls_resolve_to_the_pack(real_map):
    was = real_map.pack_by_manager_id("was-ns")
    assert real_map.pack_by_url("https://github.com/WASasquatch/was-node-suite-comfyui") is was
    assert real_map.same_pack(was, "git@github.com:WASasquatch/was-node-suite-comfyui.git")
    kj = real_map.pack_by_url("https://github.com/kijai/ComfyUI-KJNodes")
    # an aux_id naming a repository no catalog lists: that repository first (from git), the pack of the same
    # name beside it, with the reason said; never auto
    entry = rank(real_map, "ImageResizeKJ", ImageResizeKJ={"aux_id": "someone/ComfyUI-KJNodes"})["ImageResizeKJ"]
    assert [(c.pack.repository, c.reason) for c in entry.candidates[:2]] == [
        ("https://github.com/someone/comfyui-kjnodes", "git"), (kj.repository, "same_name")]
    assert not entry.auto and "fork or a rename" in entry.candidates[1].explain()


def test_templates_rank_their_cnr_packs_first_without_the_hint(real_map):
    """In the 220 templates, nodes that carry ``cnr_id`` name their pack: ranking without it must agree."""
    templates = shared_path("corpus", "templates")
    core = real_map.core_types()
    checked, wrong = 0, []
    for path in sorted(templates.glob("*.json")):
        try:
            nodes = read_workflow(json.loads(path.read_text())).nodes
        except MendError:
            continue  # index files, schemas
        truth = {n.type: n.cnr_id for n in nodes if n.cnr_id and n.cnr_id != "comfy-core"}
        if not truth:
            continue
        stripped = [dataclasses.replace(n, cnr_id=None, aux_id=None, ver=None) for n in nodes]
        missing = missing_nodes(stripped, core)
        rank_candidates(missing, real_map, set())
        for node_type, cnr_id in truth.items():
            checked += 1
            want = real_map.pack_by_id(cnr_id)
            got = missing[node_type].candidates[0].pack if missing[node_type].candidates else None
            if want is None or got is not want:
                wrong.append((path.name, node_type, cnr_id, got.repository if got else None))
    assert checked >= 40
    assert wrong == []


# -- self-written catalogs: the tie-break rules ----------------------------------------------


def test_coverage_beats_stars(small_catalog):
    """Alpha (10★) wrote SharedNode and AlphaNode; a 500★ pack copied SharedNode alone."""
    nm = load(small_catalog)
    missing = rank(nm, "AlphaNode", "SharedNode")
    assert repos(missing["SharedNode"]) == ["alice/comfyui-alpha", "bob/copycat"]
    assert missing["SharedNode"].status == "ambiguous"
    assert "provides 2 of the missing types" in missing["SharedNode"].candidates[0].explain()


def test_preemption_and_installed(small_catalog):
    nm = load(small_catalog)
    assert repos(rank(nm, "Claimed")["Claimed"])[0] == "dave/owner"
    entry = rank(nm, "SharedNode", installed={"https://github.com/alice/comfyui-alpha"})["SharedNode"]
    assert repos(entry)[0] == "alice/comfyui-alpha" and "already installed" in entry.candidates[0].explain()


def test_authored_coverage_beats_an_aggregator(tmp_path):
    nm = load(write_catalog(tmp_path / "c", {
        "orig/pulid": {"nodes": ["PulidApply", "PulidLoad"], "stars": 900},
        "orig/ipadapter": {"nodes": ["IPA", "IPALoad"], "stars": 6000},
        "agg/everything": {"nodes": ["PulidApply", "PulidLoad", "IPA", "IPALoad", "AggOwn"], "stars": 20},
    }))
    missing = rank(nm, "PulidApply", "PulidLoad", "IPA")
    top = missing["PulidApply"].candidates[0]
    assert top.pack.repository.endswith("orig/pulid") and top.authored == 2
    agg = missing["PulidApply"].candidates[1]
    assert agg.covers == 3 and agg.authored == 0 and agg.pack.is_copy
    assert "wrote 0 of them" in agg.explain()
    # a workflow that needs the aggregator's own node anyway: it provides everything, so it wins
    missing = rank(nm, "PulidApply", "IPA", "AggOwn")
    assert repos(missing["PulidApply"])[0] == "agg/everything"
    assert "provides all the others" in missing["PulidApply"].candidates[0].explain()


def test_fork_with_extra_nodes_supersedes_when_used(tmp_path):
    nm = load(write_catalog(tmp_path / "c", {
        "kijai/wrapper": {"nodes": ["WSampler", "WLoader"], "stars": 6000},
        "fan/wrapper-plus": {"nodes": ["WSampler", "WLoader", "WExtra"], "stars": 40},
    }))
    assert repos(rank(nm, "WSampler", "WLoader")["WSampler"])[0] == "kijai/wrapper"
    assert repos(rank(nm, "WSampler", "WLoader", "WExtra")["WSampler"])[0] == "fan/wrapper-plus"


def test_preemption_by_a_copy_is_not_trusted(tmp_path):
    nm = load(write_catalog(tmp_path / "c", {
        "author/flux-pulid": {"nodes": ["FluxPulid", "FluxPulidLoader", "FluxPulidOpts"], "stars": 475},
        "forker/flux-pulid-chroma": {"nodes": ["FluxPulid", "FluxPulidLoader"], "stars": 23,
                                     "preempts": ["FluxPulid", "FluxPulidLoader"]},
        "dave/owner": {"nodes": ["Claimed"], "stars": 1, "preempts": ["Claimed"]},
        "eve/other": {"nodes": ["Claimed", "EveOwn"], "stars": 50},
    }))
    entry = rank(nm, "FluxPulid")["FluxPulid"]
    assert repos(entry) == ["author/flux-pulid", "forker/flux-pulid-chroma"]
    assert entry.candidates[1].claim_ignored and "not trusted" in entry.candidates[1].explain()
    assert repos(rank(nm, "Claimed")["Claimed"])[0] == "dave/owner"  # a real owner's claim stands


def test_equal_stars_prefer_the_pack_registered_first(tmp_path):
    nm = load(write_catalog(tmp_path / "c", {
        "first/nodes": {"nodes": ["Same"], "stars": 5},
        "later/nodes": {"nodes": ["Same"], "stars": 5},
    }))
    assert nm.origin("Same").repository.endswith("first/nodes")
    assert repos(rank(nm, "Same")["Same"]) == ["first/nodes", "later/nodes"]


def test_fork_and_rename_identity(tmp_path):
    nm = load(write_catalog(tmp_path / "c", {
        "newowner/ComfyUI-Thing": {"nodes": ["ThingNode"], "stars": 300},
        "forker/ComfyUI-Thing": {"nodes": ["ThingNode"], "stars": 2},
        "moved/Renamed-Pack": {"nodes": ["MovedNode"], "stars": 10},
    }, listed=[
        {"reference": "https://github.com/newowner/ComfyUI-Thing", "files": ["https://github.com/newowner/ComfyUI-Thing"],
         "title": "Thing", "id": "comfyui-thing"},
        {"reference": "https://github.com/forker/ComfyUI-Thing", "files": ["https://github.com/forker/ComfyUI-Thing"],
         "title": "Thing fork"},
        # listed under its old URL, the map key is the new one
        {"reference": "https://github.com/oldowner/Renamed-Pack", "files": ["https://github.com/moved/Renamed-Pack"],
         "title": "Renamed"},
    ]))
    thing = nm.pack_by_id("comfyui-thing")
    assert nm.pack_by_url("https://github.com/NewOwner/ComfyUI-Thing.git") is thing
    assert nm.pack_by_url("https://github.com/someone-else/ComfyUI-Thing") is thing  # unknown fork: the family head
    assert nm.pack_by_url("https://github.com/forker/ComfyUI-Thing") is not thing  # a listed fork stays itself
    assert nm.family(thing)[0] is thing and len(nm.family(thing)) == 2
    moved = nm.pack_by_url("https://github.com/oldowner/Renamed-Pack")
    assert moved is nm.pack_by_url("https://github.com/moved/renamed-pack") and "MovedNode" in moved.node_types
    # the workflow's aux_id names an unlisted fork: that repository first, the packs of its name beside it
    entry = rank(nm, "ThingNode", ThingNode={"aux_id": "third/ComfyUI-Thing"})["ThingNode"]
    assert repos(entry)[:2] == ["third/comfyui-thing", "newowner/comfyui-thing"] and not entry.auto
    # a cnr_id the catalogs hold no registry id for (Manager's "id" is not one): the packs of that name, asked
    entry = rank(nm, "ThingNode", ThingNode={"cnr_id": "comfyui-thing"})["ThingNode"]
    assert entry.candidates[0].pack is thing and entry.candidates[0].reason == "stamp_name" and not entry.auto
