"""The issue's own case: ``image_flux2.json`` (two instances of one subgraph, the second bypassed, and a
bypassed LoRA) is 4 files for 7 references, 3 of them blocking; ``resolve --yes`` plans 3 downloads."""

from __future__ import annotations

import json
import shutil

from mend.cli import main

from ..conftest import shared_path


def test_image_flux2_is_four_files_three_blocking_and_three_downloads(tmp_path, comfy_dir, capsys):
    wf = tmp_path / "image_flux2.json"
    shutil.copy(shared_path("corpus", "templates", "image_flux2.json"), wf)
    common = ["--comfyui", str(comfy_dir), "--catalog-dir", str(shared_path("catalog")), "--no-registry"]
    assert main(["check", str(wf), *common, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["summary"]["missing_models"], report["summary"]["missing_model_files"]) == (7, 4)
    assert report["summary"]["blocking"] == 3
    marks = {f["file"]: (f["mark"], f["blocking"], len(f["refs"])) for f in report["model_files"]}
    assert marks["loras/Flux_2-Turbo-LoRA_comfyui.safetensors"] == ("bypassed", False, 1)
    assert sorted(v for k, v in marks.items() if not k.startswith("loras/")) == [(None, True, 2)] * 3

    state = ["--manifest", str(tmp_path / "state" / "pyproject.toml")]
    assert main(["resolve", str(wf), *common, *state, "--yes", "--no-fetch"]) == 0
    out = capsys.readouterr().out
    assert "saved 3 decisions" in out and "3 to install or download" in out
    assert "left alone: model Flux_2-Turbo-LoRA_comfyui.safetensors" in out
    assert out.count("download_model:") == 3 and out.count("(nodes 69:") == 3  # both instances, one download
