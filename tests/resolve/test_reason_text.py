"""A reason clause is said where it decides something: "needed anyway" only where it orders a candidate."""

from __future__ import annotations

from .test_resolve_nodes import load, rank, write_catalog


def test_needed_anyway_is_said_only_where_it_decides(tmp_path):
    nm = load(write_catalog(tmp_path / "c", {
        "orig/pulid": {"nodes": ["PulidApply", "PulidLoad"], "stars": 900},
        "agg/everything": {"nodes": ["PulidApply", "PulidLoad", "AggOwn"], "stars": 20},
        "solo/pack": {"nodes": ["SoloA", "SoloB"], "stars": 50},
    }))
    missing = rank(nm, "PulidApply", "AggOwn", "SoloA", "SoloB")
    decided = missing["PulidApply"].candidates[0]  # the aggregator wins because the workflow needs it anyway
    assert decided.pack.repository.endswith("agg/everything")
    assert "needed anyway for another missing node and provides all the others" in decided.explain()
    for node_type in ("AggOwn", "SoloA", "SoloB"):  # one candidate each: nothing to decide, nothing said
        assert "needed anyway" not in missing[node_type].candidates[0].explain()
    assert missing["AggOwn"].candidates[0].needed  # the JSON field keeps saying it


def test_a_version_stamped_for_another_repository_is_not_shown_for_this_one(tmp_path):
    """WAS as UmeAiRT's workflows stamp it: aux_id WASasquatch/… (unlisted, archived) at a commit of that repository;
    the catalogs' same-name pack beside it installs its default branch, and says so in ``version`` too."""
    nm = load(write_catalog(tmp_path / "c", {"ltdrdata/was-node-suite-comfyui": {"nodes": ["Text Multiline"],
                                                                                  "stars": 225}}))
    stamps = {"aux_id": "WASasquatch/was-node-suite-comfyui", "ver": "831199b898394c0385576d80628fce6b7931d317"}
    entry = rank(nm, "Text Multiline", Text_Multiline=stamps)["Text Multiline"]
    original, same_name = (c.to_json() for c in entry.candidates)
    assert original["reason"] == "git" and original["version"].startswith("831199b")
    assert same_name["reason"] == "same_name" and same_name["version"] is None
    assert same_name["install"]["label"].endswith("@ default branch")
