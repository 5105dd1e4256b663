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
    assert "Missing node types (1)" in out and "AlphaNode" in out and "Alpha" in out
    assert "Missing models (1)" in out and "known.safetensors" in out and "manager_model_list" in out
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
