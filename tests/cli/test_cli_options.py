"""The CLI's smaller promises: a closed pipe ends quietly, ``-v`` anywhere, ``check --manifest`` honoured
(decisions shown; an absent or corrupt file refused), a ``--comfyui`` without ``models/`` said, and no
``--comfyui`` at all checks against an empty layout under Mend's cache."""

from __future__ import annotations

import json
import subprocess
import sys

from mend.cli import build_parser, main
from mend.core import constants
from mend.core.decide.manifest import Manifest, set_op


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def workflow(tmp_path, nodes: dict) -> str:
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(nodes))
    return str(path)


def test_a_reader_that_closes_the_pipe_ends_the_output_quietly(tmp_path, comfy_dir, small_catalog):
    # 1500 missing node types: far more JSON than a pipe holds, so the writer meets the closed pipe
    wf = workflow(tmp_path, {str(i): {"class_type": f"Missing{i}", "inputs": {}} for i in range(1500)})
    err = tmp_path / "err.txt"
    cmd = (f"{sys.executable} -m mend.cli check {wf} --json --comfyui {comfy_dir} --catalog-dir {small_catalog} "
           f"--no-registry 2>{err} | head -1")
    out = subprocess.run(["bash", "-c", f"set -o pipefail; {cmd}"], capture_output=True, text=True, timeout=120)
    assert out.stdout == "{\n"
    assert "Traceback" not in err.read_text() and "BrokenPipe" not in err.read_text(), err.read_text()
    assert out.returncode == 141  # 128 + SIGPIPE, as the shell reports for any tool the reader left


def test_verbose_before_or_after_the_subcommand(tmp_path):
    parser = build_parser()
    assert parser.parse_args(["-v", "check", "w.json"]).verbose
    assert parser.parse_args(["check", "w.json", "-v"]).verbose
    assert parser.parse_args(["sync", "m.toml", "--comfyui", "x", "--verbose"]).verbose
    assert not getattr(parser.parse_args(["check", "w.json"]), "verbose", False)


def test_check_honours_the_manifest_and_refuses_a_bad_one(tmp_path, comfy_dir, small_catalog, capsys):
    wf = workflow(tmp_path, {"1": {"class_type": "AlphaNode", "inputs": {}}})
    common = ("--comfyui", comfy_dir, "--catalog-dir", small_catalog, "--no-registry")
    manifest = tmp_path / "state" / "pyproject.toml"

    code, _, err = run(capsys, "check", wf, *common, "--manifest", manifest)
    assert code == 2 and f"no manifest at {manifest}" in err

    store = Manifest(manifest)
    store.write([set_op("workflows", str(tmp_path / "wf.json"), "nodes", "AlphaNode", value=False)])
    store.close()
    code, out, _ = run(capsys, "check", wf, *common, "--manifest", manifest)
    assert code == 0 and "decided: optional" in out and "0 blocking" in out
    code, out, _ = run(capsys, "check", wf, *common)  # the ComfyUI's own manifest does not exist: no decisions
    assert code == 1 and "decided" not in out

    manifest.write_text("[tool.mend\nbroken")
    code, _, err = run(capsys, "check", wf, *common, "--manifest", manifest)
    assert code == 2 and "is not valid TOML" in err


def test_a_comfyui_folder_without_models_is_said(tmp_path, small_catalog, capsys):
    odd = tmp_path / "not-comfyui"
    odd.mkdir()
    wf = workflow(tmp_path, {"1": {"class_type": "KSampler", "inputs": {}}})
    code, _, err = run(capsys, "check", wf, "--comfyui", odd, "--catalog-dir", small_catalog, "--no-registry")
    assert code == 0 and f"warning: {odd} has no models/ folder: is it a ComfyUI directory?" in err


def test_without_comfyui_an_empty_layout_under_the_cache_is_used(tmp_path, small_catalog, capsys, monkeypatch):
    monkeypatch.setattr(constants, "CACHE_DIR", tmp_path / "cache")
    wf = workflow(tmp_path, {"1": {"class_type": "LoraLoader", "inputs": {"lora_name": "x.safetensors"}}})
    code, out, err = run(capsys, "check", wf, "--catalog-dir", small_catalog, "--no-registry")
    layout = tmp_path / "cache" / "comfyui"
    assert code == 1 and "loras/x.safetensors" in out
    assert f"no --comfyui given: checking against an empty ComfyUI layout at {layout}" in err
    assert sorted(p.name for p in layout.iterdir()) == ["custom_nodes", "models", "user"]
    code, _, err = run(capsys, "freeze", "-o", tmp_path / "m.toml")  # freeze and sync still need a ComfyUI
    assert code == 2


def test_resolve_with_stdin_closed_takes_certain_matches_and_leaves_questions_open(tmp_path, comfy_dir,
                                                                                   small_catalog):
    # SharedNode: Alpha or Copycat, a question; AlphaNode: certain. No terminal: stdin is /dev/null.
    wf = workflow(tmp_path, {"1": {"class_type": "SharedNode", "inputs": {}},
                             "2": {"class_type": "AlphaNode", "inputs": {}}})
    out = subprocess.run([sys.executable, "-m", "mend.cli", "resolve", wf, "--yes", "--no-fetch", "--comfyui",
                          str(comfy_dir), "--catalog-dir", str(small_catalog), "--no-registry", "--manifest",
                          str(tmp_path / "state" / "pyproject.toml")],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stderr  # something is open; nothing was interrupted
    assert "auto: node type AlphaNode" in out.stdout
    assert "no answers: stdin is closed, 1 question left open (answer them on a terminal)" in out.stderr
    assert "run again to continue" not in out.stderr and "Traceback" not in out.stderr
