"""A real ComfyUI loads Mend from custom_nodes and answers POST /api/mend/analyze."""

from __future__ import annotations

from .comfyui_process import MEND_FOLDER


def test_mend_loads_without_import_failure(comfyui):
    log = comfyui.log()
    assert "[Mend] ready" in log, log[-3000:]
    ours = [line for line in log.splitlines() if MEND_FOLDER in line]
    assert ours and not any("IMPORT FAILED" in line or "Cannot import" in line for line in ours), ours
    # the import-times line lists Mend as loaded
    assert any(line.strip().endswith(f"custom_nodes/{MEND_FOLDER}") and "seconds" in line for line in ours), ours


def test_analyze_reports_missing_node_and_model(comfyui):
    workflow = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "nowhere/missing_model.safetensors"}},
        "2": {"class_type": "TotallyMissingNodeType", "inputs": {"model": ["1", 0]}},
        "3": {"class_type": "KSampler", "inputs": {"model": ["1", 0], "seed": 3}},
    }
    status, report = comfyui.post("/api/mend/analyze", workflow)
    assert status == 200, report
    assert [n["type"] for n in report["missing_nodes"]] == ["TotallyMissingNodeType"]
    (model,) = report["missing_models"]
    assert (model["value"], model["folder"], model["folder_source"]) == (
        "nowhere/missing_model.safetensors", "checkpoints", "schema")


def test_model_folders_are_learned_from_live_classes(comfyui):
    """Tagging folder_paths while calling INPUT_TYPES maps core loaders exactly (no hand-written table)."""
    (comfyui.models / "loras" / "present.safetensors").write_bytes(b"x")
    workflow = {
        "1": {"class_type": "LoraLoader", "inputs": {"lora_name": "present.safetensors", "strength_model": 1}},
        "2": {"class_type": "UNETLoader", "inputs": {"unet_name": "absent.safetensors"}},
        "3": {"class_type": "DualCLIPLoader", "inputs": {"clip_name1": "a.safetensors", "clip_name2": "b.sft"}},
    }
    status, report = comfyui.post("/api/mend/analyze", workflow)
    assert status == 200, report
    assert [(r["value"], r["folder"]) for r in report["present_models"]] == [("present.safetensors", "loras")]
    assert {(m["value"], m["folder"]) for m in report["missing_models"]} == {
        ("absent.safetensors", "diffusion_models"), ("a.safetensors", "text_encoders"), ("b.sft", "text_encoders")}


def test_bad_input_gets_a_4xx(comfyui):
    status, body = comfyui.post("/api/mend/analyze", b"{not json")
    assert status == 400 and body["error"]["code"] == "invalid_json"
    status, body = comfyui.post("/api/mend/analyze", {"a": 1}, content_type="text/plain")
    assert status == 415
