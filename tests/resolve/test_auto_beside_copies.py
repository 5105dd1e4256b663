"""``auto`` beside copies: a far less starred copy of the top pack listing the same name leaves the pick certain."""

from __future__ import annotations

from .test_resolve_nodes import load, rank, real_map, repos, write_catalog  # noqa: F401 (real_map is a fixture)


def test_videohelpersuite_beside_its_copy_is_certain(real_map):
    """VHS_VideoCombine: VideoHelperSuite (1,772★) and olduvai-jp/ComfyUI-S3-IO, a 4★ copy of it, list it."""
    entry = rank(real_map, "VHS_VideoCombine", "VHS_LoadVideo")["VHS_VideoCombine"]
    top, *rivals = entry.candidates
    assert repos(entry)[0] == "kosinkadink/comfyui-videohelpersuite" and rivals
    assert all(c.pack.copy_of is top.pack for c in rivals)
    assert entry.status == "auto"
    assert "also listed by 1 copy of this pack with under 1/10 of its stars" in top.explain()


def test_a_copy_with_many_stars_or_an_unrelated_rival_is_still_asked(tmp_path):
    nm = load(write_catalog(tmp_path / "c", {
        "orig/video": {"nodes": ["VidCombine", "VidLoad", "VidSave"], "stars": 1000},
        "tiny/video-copy": {"nodes": ["VidCombine", "VidLoad", "VidSave"], "stars": 4},
        "orig/framepack": {"nodes": ["FPSampler", "FPLoad", "FPSettings"], "stars": 114},
        "fan/framepack-plus": {"nodes": ["FPSampler", "FPLoad", "FPSettings", "FPExtra"], "stars": 36},
        "orig/strings": {"nodes": ["JoinText", "SplitText"], "stars": 3000},
        "other/join": {"nodes": ["JoinText", "OtherOwn"], "stars": 2},
    }))
    assert rank(nm, "VidCombine")["VidCombine"].status == "auto"
    framepack = rank(nm, "FPSampler")["FPSampler"]  # a copy with a third of the stars: which one was meant?
    assert repos(framepack)[0] == "orig/framepack" and framepack.status == "ambiguous"
    joined = rank(nm, "JoinText")["JoinText"]  # a rival that is no copy: the same name, maybe another node
    assert repos(joined)[0] == "orig/strings" and joined.status == "ambiguous"
