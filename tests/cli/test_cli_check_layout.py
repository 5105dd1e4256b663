"""``mend check``'s tables read right: display widths, cut cells marked (``--wide`` cuts nothing), a node naming a
file twice shows its inputs, node ids said as node ids, warnings in the user's words with whether to act."""

from __future__ import annotations

from mend.cli.table import display_width, render

from .test_cli_check import run, write

LONG = "Z-Image-Turbo-Fun-Controlnet-Union-2.1-with-a-very-long-name-indeed.safetensors"
CJK = "SDXL-AI-汽设_V1.safetensors"


def workflow() -> dict:
    """UI format: a LoRA with a CJK name, a loader with a long file name, one node naming a file in two inputs,
    and a link to a node the graph does not have."""
    return {
        "nodes": [
            {"id": 1, "type": "LoraLoader", "mode": 0, "widgets_values": [CJK, 1.0, 1.0]},
            {"id": 2, "type": "CheckpointLoaderSimple", "mode": 0, "widgets_values": [LONG]},
            {"id": 3, "type": "DualCLIPLoader", "mode": 0,
             "widgets_values": ["clip_l.safetensors", "clip_l.safetensors", "flux"]},
            {"id": 4, "type": "AlphaNode", "mode": 0, "widgets_values": []},
        ],
        "links": [[1, 99, 0, 4, 0, "MODEL"]],
    }


def test_widths_marks_inputs_and_warnings(tmp_path, comfy_dir, small_catalog, capsys):
    wf = write(tmp_path, "wf.json", workflow())
    common = ("--comfyui", str(comfy_dir), "--catalog-dir", str(small_catalog), "--no-registry")
    code, out, _ = run(capsys, "check", wf, *common)
    assert code == 1, out
    lines = out.splitlines()
    assert any("NODE IDS" in line for line in lines) and not any(" NODES " in line for line in lines)
    rows = [line for line in lines if line.startswith("  ") and ".safetensors" in line]
    cjk = next(line for line in rows if CJK in line)
    clip = next(line for line in rows if "clip_l" in line)
    assert cjk.index("1 LoraLoader") != clip.index("3 (clip_name1, clip_name2) DualCLIPLoader")  # text columns...
    starts = {display_width(line[:line.index(s)]) for line, s in ((cjk, "1 LoraLoader"), (clip, "3 (clip_name1"))}
    assert len(starts) == 1  # ...but the same display column
    assert any(line.startswith("  checkpoints/Z-Image-Turbo") and "…" in line for line in lines)
    assert "… = cut to fit; mend check --wide shows every name whole" in out
    assert "act: " not in out.split("Missing")[0] and "note: The workflow has a broken connection" in out
    assert "dangling_link" in out and "Warnings (1, nothing to do)" in out
    _, wide, _ = run(capsys, "check", wf, *common, "--wide")
    assert f"checkpoints/{LONG}" in wide and "cut to fit" not in wide


def test_json_warnings_keep_their_fields_and_add_advice(tmp_path, comfy_dir, small_catalog, capsys):
    import json

    wf = write(tmp_path, "wf.json", workflow())
    _, out, _ = run(capsys, "check", wf, "--comfyui", str(comfy_dir), "--catalog-dir", str(small_catalog),
                    "--no-registry", "--json")
    warning = json.loads(out)["warnings"][0]
    assert warning["code"] == "dangling_link" and warning["message"] and warning["must_act"] is False
    assert warning["advice"].startswith("The workflow has a broken connection")


def test_render_pads_by_display_width():
    lines = render([("A", "B"), ("汽设", "x"), ("ab", "y")])
    assert [display_width(line.split("x")[0]) for line in lines[1:2]] == [display_width(lines[2].split("y")[0])]
