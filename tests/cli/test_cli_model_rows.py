"""``mend check`` model rows on users' shared workflows: the installed command, the shared catalogs, an empty ComfyUI.

Each test names the real workflow it reads (``../shared/corpus/user-workflows/wf``) and the class of
mistake it guards against (docs/cli.md, "Model rows").
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ..conftest import shared_path

MEND = Path(sys.executable).with_name("mend")


def check(path: Path, comfy_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(MEND), "check", str(path), "--comfyui", str(comfy_dir), "--catalog-dir", str(shared_path("catalog")),
         "--no-registry", *extra], capture_output=True, text=True, timeout=180)


def check_json(path: Path, comfy_dir: Path) -> dict:
    done = check(path, comfy_dir, "--json")
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def user_workflow(prefix: str) -> Path:
    folder = shared_path("corpus", "user-workflows", "wf")
    return next(folder.glob(f"{prefix}_*.json"))


def test_core_audio_nodes_are_core_and_their_loaders_read_checkpoints(comfy_dir):
    """195 (LTX-2.3): LTXVAudioVAELoader and LTXAVTextEncoderLoader are ComfyUI 0.8.0 core nodes (recorded with
    torchaudio); the audio VAE loader reads ``checkpoints``, like the checkpoint loader naming the same file."""
    report = check_json(user_workflow("195"), comfy_dir)
    missing_types = {n["type"] for n in report["missing_nodes"]}
    assert not missing_types & {"LTXVAudioVAELoader", "LTXAVTextEncoderLoader", "LTXVAudioVAEEncode",
                                "LoadAudio", "SaveAudio", "VAEEncodeAudio", "EmptyLatentAudio"}
    by_ref = {m["node_type"]: m for m in report["missing_models"]}
    assert by_ref["LTXVAudioVAELoader"]["folder"] == "checkpoints"
    assert by_ref["LTXVAudioVAELoader"]["folder_source"] == "schema"
    assert by_ref["LTXAVTextEncoderLoader"]["folder_source"] == "schema"


def test_pack_loaders_take_their_folder_from_the_node_not_the_file_name(comfy_dir):
    """153: every WanVideoLoraSelect file is a LoRA (the file names say "i2v", "14B": no longer diffusion_models);
    111: UltralyticsDetectorProvider's ``segm/…`` is under ``ultralytics``, SAMLoader's file under ``sams``."""
    files = check_json(user_workflow("153"), comfy_dir)["model_files"]
    loras = [f for f in files if {n["node_type"] for n in f["nodes"]} == {"WanVideoLoraSelect"}]
    assert loras and all(f["folder"] == "loras" and f["folder_source"] == "loader_table" for f in loras)
    files = check_json(user_workflow("111"), comfy_dir)["model_files"]
    by_type = {n["node_type"]: f for f in files for n in f["nodes"]}
    assert by_type["UltralyticsDetectorProvider"]["file"].startswith(("ultralytics/segm/", "ultralytics/bbox/"))
    assert by_type["SAMLoader"]["folder"] == "sams"
    assert not any(f["file"].startswith("?/") for f in files)


def test_files_a_pack_fetches_itself_do_not_block_and_are_said_so(comfy_dir):
    """156: RIFE VFI's rife49.pth and DownloadAndLoadSAM2Model's weights appear on first run."""
    report = check_json(user_workflow("156"), comfy_dir)
    fetched = [f for f in report["model_files"] if f["fetched_by_pack"]]
    assert {n["node_type"] for f in fetched for n in f["nodes"]} == {"RIFE VFI", "DownloadAndLoadSAM2Model"}
    assert not any(f["blocking"] for f in fetched)
    table = check(user_workflow("156"), comfy_dir).stdout
    rife = next(line for line in table.splitlines() if "rife" in line)
    assert "fetched by pack" in rife and "the pack downloads it on first use" in rife


def test_one_file_named_by_a_core_loader_and_an_unknown_node_is_one_row(comfy_dir):
    """195: ltx-2.3-22b-dev-fp8 is named by CheckpointLoaderSimple, the LTX audio loaders and GemmaAPITextEncode
    (unknown, whose file-name guess said diffusion_models): one row, in checkpoints, one question."""
    files = check_json(user_workflow("195"), comfy_dir)["model_files"]
    rows = [f for f in files if f["value"].endswith("ltx-2.3-22b-dev-fp8.safetensors")]
    assert [f["file"] for f in rows] == ["checkpoints/ltx-2.3-22b-dev-fp8.safetensors"]
    assert "GemmaAPITextEncode" in {n["node_type"] for n in rows[0]["nodes"]}


def test_urls_labels_placeholders_and_shown_text_are_no_model_files(tmp_path, comfy_dir):
    """Shapes seen in shared workflows (Hugging Face Download Model's URL, TIPO's menu label, easy showAnything's
    text, a template's ``{{checkpoint}}``): none is a missing file, though the link is a source for the file it
    ends in; the template is said once, as a warning;
    a guessed folder and ``?/`` are explained under the table."""
    wf = {"nodes": [
        {"id": 1, "type": "Hugging Face Download Model", "mode": 0,
         "widgets_values": ["https://huggingface.co/Comfy-Org/x/blob/main/split_files/vae/wan_vae.safetensors", "vae"]},
        {"id": 2, "type": "TIPO", "mode": 0, "widgets_values": ["KBlueLeaf/TIPO-200M-ft2 | TIPO-200M-ft2-F16.gguf"]},
        {"id": 3, "type": "easy showAnything", "mode": 0,
         "widgets_values": ["Krea2\\krea2_turbo_fp8_scaled.safetensors"]},
        {"id": 4, "type": "CheckpointLoaderSimple", "mode": 0, "widgets_values": ["{{checkpoint}}"]},
        {"id": 5, "type": "SomePackLoader", "mode": 0, "widgets_values": ["mystery_weights.safetensors"]},
        {"id": 6, "type": "Efficient Lora Stack", "mode": 0, "widgets_values": ["style_i2v_14B.safetensors", 1.0]},
        {"id": 7, "type": "VAELoader", "mode": 0, "widgets_values": ["wan_vae.safetensors"]},
    ], "links": []}
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(wf))
    report = check_json(path, comfy_dir)
    assert [f["file"] for f in report["model_files"]] == [
        "?/mystery_weights.safetensors", "loras/style_i2v_14B.safetensors", "vae/wan_vae.safetensors"]
    # the downloader's link is no file, but it is a source for the file it ends in (its blob page made a file link)
    top = report["model_files"][2]["candidates"][0]
    assert (top["reason"], top["url"]) == (
        "workflow_url", "https://huggingface.co/Comfy-Org/x/resolve/main/split_files/vae/wan_vae.safetensors")
    assert [w["code"] for w in report["warnings"]].count("template_placeholders") == 1
    table = check(path, comfy_dir).stdout
    assert "?/ = folder unknown" in table and "(folder guessed) = " in table
    assert "unknown (folder guessed)" in next(line for line in table.splitlines() if "style_i2v" in line)


def test_resolve_says_a_guessed_folder_and_never_asks_about_a_file_the_pack_fetches(tmp_path, comfy_dir):
    wf = {"nodes": [
        {"id": 1, "type": "Efficient Lora Stack", "mode": 0, "widgets_values": ["ink_style.safetensors", 1.0]},
        {"id": 2, "type": "RIFE VFI", "mode": 0, "widgets_values": ["rife49.pth", 10, 2, True, True, 1.0]},
    ], "links": []}
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(wf))
    done = subprocess.run(
        [str(MEND), "resolve", str(path), "--comfyui", str(comfy_dir), "--catalog-dir", str(shared_path("catalog")),
         "--no-registry", "--no-fetch", "--manifest", str(tmp_path / "state" / "pyproject.toml")],
        capture_output=True, text=True, timeout=180, input="s\n" * 5)  # skip every question asked
    assert "missing model ink_style.safetensors (loras, folder guessed from a name)" in done.stdout
    assert "rife49.pth" not in done.stdout + done.stderr
