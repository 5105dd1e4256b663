"""A name hint says what in the name points at the pack, and weak coincidences of names lead nowhere."""

from __future__ import annotations

from .test_resolve_nodes import load, repos, write_catalog
from .test_stamps import node, real_map, resolve  # noqa: F401 (real_map is a fixture)


def test_the_reason_names_the_evidence(real_map):
    missing, _ = resolve(real_map, node(1, "LTXVAddLatents"), node(2, "Lora Loader (LoraManager)"),
                         node(3, "UnetLoaderGGUFDisTorchMultiGPU"), node(4, "StylePromptEncoder //ZImagePowerNodes"))
    said = {t: e.candidates[0].explain() for t, e in missing.items()}
    assert said["LTXVAddLatents"].startswith("its name begins “LTXV”, like ")
    assert " of this pack's nodes; the catalogs do not list the node" in said["LTXVAddLatents"]
    assert said["Lora Loader (LoraManager)"].startswith("its name ends “(LoraManager)”, this pack's name")
    assert said["UnetLoaderGGUFDisTorchMultiGPU"].startswith("its name ends “MultiGPU”, like ")
    assert repos(missing["StylePromptEncoder //ZImagePowerNodes"]) == ["martin-rizzo/comfyui-zimagepowernodes"]
    assert said["StylePromptEncoder //ZImagePowerNodes"].startswith("its name ends “//ZImagePowerNodes”")


def test_coincidences_of_names_are_no_family(real_map):
    """``easy setNode`` (Easy Use's editor node) is no ``…setNode`` of a pack with ``CharacterPresetNode``;
    ``CheckpointLoaderNF4`` extends ComfyUI's own ``CheckpointLoader``, as any pack may."""
    missing, _ = resolve(real_map, node(1, "easy setNode"), node(2, "CheckpointLoaderNF4"))
    assert all(c.pack.repo_name != "comfyui-mudknight-utils" for c in missing["easy setNode"].candidates)
    assert missing["CheckpointLoaderNF4"].candidates == []


def test_a_family_of_a_pack_nobody_starred_is_no_hint(tmp_path):
    nm = load(write_catalog(tmp_path / "c", {
        "big/zeta": {"nodes": ["ZetaXAlpha", "ZetaXBeta", "ZetaXGamma"], "stars": 50},
        "small/omega": {"nodes": ["OmegaXAlpha", "OmegaXBeta", "OmegaXGamma"], "stars": 1},
    }))
    missing, _ = resolve(nm, node(1, "ZetaXDelta"), node(2, "OmegaXDelta"))
    assert repos(missing["ZetaXDelta"]) == ["big/zeta"] and not missing["ZetaXDelta"].auto
    assert missing["OmegaXDelta"].candidates == []
