"""Analysis over a real ComfyUI-like tree: what is missing, and ranked candidates with reasons."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.asyncio


def api(*nodes):
    return {str(i + 1): {"class_type": t, "inputs": inputs} for i, (t, inputs) in enumerate(nodes)}


def ui_node(id, type, widgets=(), mode=0, **props):
    return {"id": id, "type": type, "mode": mode, "widgets_values": list(widgets), "properties": props}


@pytest.fixture
def mend(comfy_dir, small_catalog, mend_for):
    return mend_for(comfy_dir, small_catalog)


async def test_nothing_missing(mend, comfy_dir):
    (comfy_dir / "models" / "checkpoints" / "a.safetensors").write_bytes(b"x")
    report = await mend.analyzer.analyze(api(("CheckpointLoaderSimple", {"ckpt_name": "a.safetensors"})))
    data = report.to_json()
    assert data["summary"]["missing_nodes"] == data["summary"]["missing_models"] == 0
    assert data["present_models"][0]["folder"] == "checkpoints"


async def test_exact_unique_hit_is_auto(mend):
    (node,) = (await mend.analyzer.analyze(api(("AlphaNode", {})))).missing_nodes
    assert node.status == "auto"
    assert node.candidates[0].pack.repository == "https://github.com/alice/comfyui-alpha"
    assert node.candidates[0].reason == "exact"


async def test_ambiguous_type_lists_all_packs_and_coverage_beats_stars(mend):
    # Copycat has more stars, but Alpha also provides AlphaNode, which the workflow needs too.
    report = await mend.analyzer.analyze(api(("SharedNode", {}), ("AlphaNode", {})))
    shared = next(n for n in report.missing_nodes if n.type == "SharedNode")
    assert shared.status == "ambiguous"
    assert [c.pack.title for c in shared.candidates] == ["Alpha", "Copycat"]
    assert shared.candidates[0].covers == 2


async def test_stars_break_the_remaining_ties(mend):
    (shared,) = (await mend.analyzer.analyze(api(("SharedNode", {})))).missing_nodes
    assert [c.pack.title for c in shared.candidates] == ["Copycat", "Alpha"]


async def test_installed_pack_wins_a_tie(mend, comfy_dir):
    repo = comfy_dir / "custom_nodes" / "ComfyUI-Alpha" / ".git"
    repo.mkdir(parents=True)
    (repo / "config").write_text('[remote "origin"]\n\turl = git@github.com:alice/ComfyUI-Alpha.git\n')
    (repo / "HEAD").write_text("0123456789abcdef0123456789abcdef01234567\n")
    mend.host.exact_node_types = True  # the pack is there but lacks the node: an update is the fix
    (shared,) = (await mend.analyzer.analyze(api(("SharedNode", {})))).missing_nodes
    assert shared.candidates[0].pack.title == "Alpha" and shared.candidates[0].installed


async def test_preemption_and_pattern(mend):
    report = await mend.analyzer.analyze(api(("Claimed", {}), ("Gen_Thing", {})))
    by_type = {n.type: n for n in report.missing_nodes}
    assert by_type["Claimed"].candidates[0].pack.title == "Owner"
    assert by_type["Claimed"].candidates[0].reason == "preemption" and by_type["Claimed"].auto
    assert by_type["Gen_Thing"].candidates[0].reason == "pattern" and not by_type["Gen_Thing"].auto


async def test_workflow_pack_hint_comes_first(mend):
    wf = {"nodes": [ui_node(1, "SharedNode", aux_id="bob/copycat", ver="abc123")], "links": []}
    (shared,) = (await mend.analyzer.analyze(wf)).missing_nodes
    assert shared.candidates[0].pack.title == "Copycat" and shared.candidates[0].reason == "aux_id"
    assert shared.candidates[0].version == "abc123" and shared.auto


async def test_unknown_type_has_no_candidates(mend):
    (node,) = (await mend.analyzer.analyze(api(("NobodyHasThis", {})))).missing_nodes
    assert node.status == "unknown" and node.candidates == []


async def test_frontend_only_nodes_are_never_missing(mend):
    wf = {"nodes": [ui_node(1, "Note"), ui_node(2, "Reroute"), ui_node(3, "MarkdownNote"), ui_node(4, "PrimitiveNode")]}
    assert (await mend.analyzer.analyze(wf)).missing_nodes == []


async def test_muted_missing_nodes_are_reported_but_not_blocking(mend):
    wf = {"nodes": [ui_node(1, "AlphaNode", mode=2), ui_node(2, "AlphaOther", mode=4)], "links": []}
    report = await mend.analyzer.analyze(wf)
    assert {n.type for n in report.missing_nodes} == {"AlphaNode", "AlphaOther"}
    assert all(n.inactive for n in report.missing_nodes)
    assert report.blocking == 0


async def test_model_in_another_subfolder_is_auto(mend, comfy_dir):
    sub = comfy_dir / "models" / "loras" / "sdxl"
    sub.mkdir()
    (sub / "style.safetensors").write_bytes(b"x" * 10)
    wf = {"nodes": [ui_node(1, "LoraLoader", ["style.safetensors", 1.0, 1.0])], "links": []}
    (missing,) = (await mend.analyzer.analyze(wf)).missing_models
    assert missing.ref.folder == "loras" and missing.ref.widget_index == 0
    top = missing.candidates[0]
    assert (top.kind, top.reason, top.size) == ("local", "same_name_other_subfolder", 10)
    assert top.relpath == "sdxl/style.safetensors"
    assert missing.auto


async def test_windows_subfolder_values_are_found(mend, comfy_dir):
    (comfy_dir / "models" / "checkpoints" / "xl").mkdir()
    (comfy_dir / "models" / "checkpoints" / "xl" / "m.safetensors").write_bytes(b"x")
    report = await mend.analyzer.analyze(api(("CheckpointLoaderSimple", {"ckpt_name": "xl\\m.safetensors"})))
    assert not report.missing_models and len(report.present_models) == 1


async def test_case_and_other_folder_candidates_are_ranked_not_auto(mend, comfy_dir):
    (comfy_dir / "models" / "loras" / "Style.SAFETENSORS").write_bytes(b"x")
    (comfy_dir / "models" / "checkpoints" / "style.safetensors").write_bytes(b"x")
    (missing,) = (await mend.analyzer.analyze(api(("LoraLoader", {"lora_name": "style.safetensors"})))).missing_models
    assert [c.reason for c in missing.candidates] == ["case_insensitive", "same_name_other_folder"]
    assert not missing.auto  # two local files could be meant


async def test_workflow_metadata_and_manager_list_are_download_candidates(mend):
    meta = [{"name": "known.safetensors", "url": "https://huggingface.co/x/y/resolve/main/known.safetensors",
             "directory": "loras"}]
    wf = {"nodes": [ui_node(1, "LoraLoader", ["known.safetensors", 1, 1], models=meta)], "links": []}
    (missing,) = (await mend.analyzer.analyze(wf)).missing_models
    assert [(c.kind, c.reason, c.folder) for c in missing.candidates] == [
        ("download", "workflow_metadata", "loras"), ("download", "manager_model_list", "loras")]
    assert missing.candidates[0].url.endswith("/x/y/resolve/main/known.safetensors")
    assert missing.auto  # both certain sources agree on the same file


async def test_pickle_downloads_are_never_auto(mend):
    meta = [{"name": "old.ckpt", "url": "https://huggingface.co/x/y/resolve/main/old.ckpt", "directory": "checkpoints"}]
    wf = {"nodes": [ui_node(1, "CheckpointLoaderSimple", ["old.ckpt"], models=meta)], "links": []}
    (missing,) = (await mend.analyzer.analyze(wf)).missing_models
    assert missing.candidates[0].pickle and not missing.auto


async def test_missing_loader_uses_metadata_directory(mend):
    meta = [{"name": "m.safetensors", "url": "https://huggingface.co/a/b/resolve/main/m.safetensors",
             "directory": "diffusion_models"}]
    wf = {"nodes": [ui_node(1, "SomeCustomLoader", ["m.safetensors", "fp8"], models=meta)], "links": []}
    report = await mend.analyzer.analyze(wf)
    (missing,) = report.missing_models
    assert (missing.ref.folder, missing.ref.folder_source) == ("diffusion_models", "metadata")
    assert missing.ref.widget_index == 0


async def test_guessed_folder_is_never_auto(mend):
    wf = {"nodes": [ui_node(1, "SomeCustomLoader", ["my_lora_v2.safetensors"])], "links": []}
    (missing,) = (await mend.analyzer.analyze(wf)).missing_models
    assert (missing.ref.folder, missing.ref.folder_source, missing.auto) == ("loras", "guess", False)


async def test_models_inside_subgraphs_have_id_paths(mend):
    inner = {"id": "sg-1", "nodes": [ui_node(5, "CheckpointLoaderSimple", ["deep.safetensors"])], "links": []}
    wf = {"nodes": [ui_node(12, "sg-1")], "links": [], "definitions": {"subgraphs": [inner]}}
    (missing,) = (await mend.analyzer.analyze(wf)).missing_models
    assert missing.ref.key == "12:5/ckpt_name"


async def test_ui_widget_index_skips_control_after_generate(comfy_dir, small_catalog, mend_for):
    import json

    from ..conftest import shared_path

    info = json.loads(shared_path("corpus", "object_info-comfyui-0.8.0-sentinels.json").read_text())
    mend = mend_for(comfy_dir, small_catalog, object_info=info)
    schema = mend.host.node_schemas()["KSampler"]
    assert schema.widgets[:3] == ("seed", "seed.control_after_generate", "steps")
    wf = {"nodes": [ui_node(1, "CheckpointLoader", ["v1.yaml", "m.safetensors"])], "links": []}
    refs = {(m.ref.input, m.ref.folder) for m in (await mend.analyzer.analyze(wf)).missing_models}
    assert refs == {("config_name", "configs"), ("ckpt_name", "checkpoints")}


async def test_registry_node_look_ups_are_used_and_cached(aiohttp_server, comfy_dir, small_catalog, tmp_path,
                                                          monkeypatch):
    """A type no catalog lists is asked of the registry once; its answer is the catalogs' pack when they list it."""
    from mend.core.catalog.registry import RegistryClient
    from mend.core.catalog.store import CatalogStore
    from mend.core.host_standalone import StandaloneHost
    from mend.core.services import Mend

    from ..registry_server import RegistryServer

    monkeypatch.setattr("mend.core.constants.TEST_ALLOW_HTTP_LOOPBACK", True)
    registry = RegistryServer()
    registry.publish("brand-new", "1.0.0", node_types=("BrandNewNode",), repository="https://github.com/new/brand-new")
    registry.publish("alpha", "1.0.0", node_types=("AlphaNewer",), repository="https://github.com/alice/comfyui-alpha")
    server = await aiohttp_server(registry.app())
    client = RegistryClient(str(server.make_url("")).rstrip("/"))
    catalogs = CatalogStore(catalog_dir=small_catalog, cache_dir=tmp_path / "cache", registry=RegistryClient(""))
    mend = Mend.create(StandaloneHost(comfy_dir), catalogs=catalogs, registry=client, cache_dir=tmp_path / "cache")
    workflow = {"1": {"class_type": "BrandNewNode", "inputs": {}}, "2": {"class_type": "AlphaNewer", "inputs": {}},
                "3": {"class_type": "NobodyKnows", "inputs": {}}}
    for _ in range(2):
        report = (await mend.analyzer.analyze(workflow)).to_json()
    by_type = {n["type"]: n for n in report["missing_nodes"]}
    assert by_type["BrandNewNode"]["candidates"][0]["reason"] == "registry"
    assert by_type["BrandNewNode"]["candidates"][0]["pack"]["repository"] == "https://github.com/new/brand-new"
    assert by_type["AlphaNewer"]["candidates"][0]["pack"]["repository"] == "https://github.com/alice/comfyui-alpha"
    assert by_type["NobodyKnows"]["candidates"] == []
    asked = [p for p in registry.requests if p.startswith("/comfy-nodes/")]
    assert sorted(asked) == ["/comfy-nodes/AlphaNewer/node", "/comfy-nodes/BrandNewNode/node",
                             "/comfy-nodes/NobodyKnows/node"]  # once each, not once per analysis
