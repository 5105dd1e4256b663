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
