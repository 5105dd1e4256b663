"""``mend check``: readable table, --json, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json

from mend.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def test_nothing_missing_exits_0(tmp_path, comfy_dir, small_catalog, capsys):
    (comfy_dir / "models" / "checkpoints" / "a.safetensors").write_bytes(b"x")
    loader = {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "a.safetensors"}}
    wf = write(tmp_path, "wf.json", {"1": loader})
    code, out, _ = run(capsys, "check", wf, "--comfyui", str(comfy_dir), "--catalog-dir", str(small_catalog),
                       "--no-registry")
    assert code == 0 and "Nothing missing" in out


def test_missing_things_exit_1_with_table_and_json(tmp_path, comfy_dir, small_catalog, capsys):
    wf = write(tmp_path, "wf.json", {"1": {"class_type": "AlphaNode", "inputs": {}},
                                     "2": {"class_type": "LoraLoader", "inputs": {"lora_name": "known.safetensors"}}})
    common = ("--comfyui", str(comfy_dir), "--catalog-dir", str(small_catalog), "--no-registry")
    code, out, _ = run(capsys, "check", wf, *common)
    assert code == 1
    assert "Missing node types (1, 1 blocking)" in out and "AlphaNode" in out and "Alpha" in out
    assert "Missing model files (1 used by 1 nodes, 1 blocking)" in out and "known.safetensors" in out
    assert "manager_model_list" in out and "2 blocking" in out
    code, out, _ = run(capsys, "check", wf, *common, "--json")
    assert code == 1
    report = json.loads(out)
    assert report["summary"]["missing_nodes"] == 1 and report["summary"]["missing_models"] == 1


def test_bad_input_exits_2_with_a_message(tmp_path, comfy_dir, small_catalog, capsys):
    common = ("--comfyui", str(comfy_dir), "--catalog-dir", str(small_catalog), "--no-registry")
    code, _, err = run(capsys, "check", write(tmp_path, "bad.json", "{oops"), *common)
    assert code == 2 and "not valid JSON" in err
    code, _, err = run(capsys, "check", write(tmp_path, "x.json", {"foo": 1}), *common)
    assert code == 2 and "not a workflow" in err
    code, _, err = run(capsys, "check", str(tmp_path / "absent.json"), *common)
    assert code == 2 and "cannot read" in err
    code, _, err = run(capsys, "check", write(tmp_path, "y.json", {"1": {"class_type": "A", "inputs": {}}}),
                       "--comfyui", str(tmp_path / "nope"))
    assert code == 2 and "not a directory" in err
    code, _, _ = run(capsys, "check")
    assert code == 2


def marked_workflow() -> dict:
    """One lora named by a running node and a bypassed one; a muted checkpoint loader; a bypassed
    subgraph instance whose inner VAE loader is normal itself; a muted missing node type."""
    return {
        "nodes": [
            {"id": 1, "type": "LoraLoader", "mode": 0, "widgets_values": ["known.safetensors", 1.0, 1.0]},
            {"id": 2, "type": "LoraLoader", "mode": 4, "widgets_values": ["known.safetensors", 1.0, 1.0]},
            {"id": 3, "type": "CheckpointLoaderSimple", "mode": 2, "widgets_values": ["ck.safetensors"]},
            {"id": 12, "type": "sg-1", "mode": 4},
            {"id": 7, "type": "AlphaNode", "mode": 2},
        ],
        "definitions": {"subgraphs": [{"id": "sg-1", "links": [], "nodes": [
            {"id": 5, "type": "VAELoader", "mode": 0, "widgets_values": ["v.safetensors"]},
        ]}]},
    }


def test_one_row_per_file_with_bypassed_and_muted_marks(tmp_path, comfy_dir, small_catalog, capsys):
    wf = write(tmp_path, "wf.json", marked_workflow())
    common = ("--comfyui", str(comfy_dir), "--catalog-dir", str(small_catalog), "--no-registry")
    code, out, _ = run(capsys, "check", wf, *common)
    assert code == 1, out
    assert "Missing node types (1, 0 blocking)" in out and "AlphaNode (muted)" in out
    assert "Missing model files (3 used by 4 nodes, 1 blocking)" in out
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ") and "/" in line.split()[0]}
    assert "1,2 (bypassed) LoraLoader" in rows["loras/known.safetensors"]
    assert "(muted)" in rows["checkpoints/ck.safetensors"]
    assert "12:5 (bypassed)" in rows["vae/v.safetensors"]
    assert "1 blocking: a run of this workflow fails until it is resolved" in out
    _, out, _ = run(capsys, "check", wf, *common, "--json")
    report = json.loads(out)
    assert report["summary"]["blocking"] == 1
    assert report["summary"]["missing_models"] == 4 and report["summary"]["missing_model_files"] == 3
    files = {f["file"]: f for f in report["model_files"]}
    lora = files["loras/known.safetensors"]
    assert lora["refs"] == ["1/lora_name", "2/lora_name"] and lora["mark"] is None and lora["blocking"]
    assert [(n["node_id"], n["mark"]) for n in lora["nodes"]] == [("1", None), ("2", "bypassed")]
    checkpoint = files["checkpoints/ck.safetensors"]
    assert checkpoint["mark"] == "muted" and not checkpoint["blocking"]
    assert files["vae/v.safetensors"]["mark"] == "bypassed" and files["vae/v.safetensors"]["nodes"][0]["mode"] == 4
    by_key = {m["key"]: m for m in report["missing_models"]}
    assert by_key["2/lora_name"]["file"] == "loras/known.safetensors" and by_key["2/lora_name"]["mark"] == "bypassed"
    node = report["missing_nodes"][0]
    assert node["mark"] == "muted" and node["inactive"] and not node["blocking"]
