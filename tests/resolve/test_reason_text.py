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
