"""``mend freeze`` and ``mend sync --dry-run`` as a user runs them: files in, a manifest and a plan out."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from mend.cli import main

from ..git_server import make_pack_repo, node_pack_files
from ..hf_server import safetensors_bytes
from ..install_support import tree_state

DATA = safetensors_bytes(2048, seed=9)
URL = "https://huggingface.co/acme/loras/resolve/main/ink.safetensors"


def source_env(comfy_dir: Path, tmp_path: Path) -> tuple[Path, str]:
    bare, shas = make_pack_repo(tmp_path / "repos", "ComfyUI-Alpha", [node_pack_files("AlphaNode")])
    pack = comfy_dir / "custom_nodes" / "ComfyUI-Alpha"
    subprocess.run(["git", "clone", "-q", str(bare), str(pack)], check=True)  # origin: a local path
    (comfy_dir / "models" / "loras" / "ink.safetensors").write_bytes(DATA)
    (comfy_dir / "models" / "loras" / "stray.safetensors").write_bytes(b"x" * 10)
    workflow = tmp_path / "w.json"
    workflow.write_text(json.dumps({
        "nodes": [{"id": 1, "type": "LoraLoader", "mode": 0, "widgets_values": ["ink.safetensors", 1, 1]},
                  {"id": 2, "type": "VAELoader", "mode": 0, "widgets_values": ["gone.safetensors"]}],
        "links": [], "models": [{"name": "ink.safetensors", "directory": "loras", "url": URL}]}))
    return workflow, shas[0]


def test_freeze_cli_writes_a_lock_file_and_lists_what_it_cannot_pin(tmp_path, comfy_dir, small_catalog, capsys):
    workflow, commit = source_env(comfy_dir, tmp_path)
    out = tmp_path / "lock" / "manifest.toml"
    common = ["--comfyui", str(comfy_dir), "--catalog-dir", str(small_catalog)]
    code = main(["freeze", str(workflow), "-o", str(out), *common])
    printed = capsys.readouterr().out
    text = out.read_text()
    assert commit in text and hashlib.sha256(DATA).hexdigest() in text and URL in text
    assert "stray" not in text  # only what the workflow uses
    assert code == 1 and "gone.safetensors" in printed  # a reference to a file that is not on disk is listed

    code = main(["freeze", "-o", str(out), *common])  # every model file: stray has no known source
    printed = capsys.readouterr().out
    assert code == 1 and "NO KNOWN SOURCE" in printed and "loras/stray.safetensors" in out.read_text()
    assert URL in out.read_text()  # the source found earlier is kept (the manifest's recorded sources)


def test_sync_dry_run_prints_the_plan_and_changes_nothing(tmp_path, comfy_dir, small_catalog, capsys):
    workflow, _ = source_env(comfy_dir, tmp_path)
    out = tmp_path / "manifest.toml"
    assert main(["freeze", str(workflow), "-o", str(out), "--comfyui", str(comfy_dir),
                 "--catalog-dir", str(small_catalog)]) == 1
    capsys.readouterr()
    fresh = tmp_path / "fresh"
    (fresh / "models" / "loras").mkdir(parents=True)
    (fresh / "custom_nodes").mkdir()
    before = tree_state(fresh)
    code = main(["sync", str(out), "--comfyui", str(fresh), "--dry-run", "--catalog-dir", str(small_catalog)])
    printed = capsys.readouterr().out
    # the pack was cloned from a local path: the real run refuses such a source, so the plan says so
    assert code == 1 and tree_state(fresh) == before
    assert "unavailable" in printed and "is a local path: another machine cannot clone it" in printed
    assert "download" in printed
    assert f"{len(DATA) / 1024:.1f} KB to download" in printed


def test_sync_refuses_a_file_that_is_no_manifest(tmp_path, comfy_dir, capsys):
    bad = tmp_path / "x.toml"
    bad.write_text("[project]\nname = 'x'\n")
    assert main(["sync", str(bad), "--comfyui", str(comfy_dir)]) == 2
    assert "no [tool.mend] table" in capsys.readouterr().err


def test_ssh_and_local_path_origins_are_pinned_but_unavailable(tmp_path, comfy_dir, small_catalog, capsys):
    bare, _ = make_pack_repo(tmp_path / "repos", "ComfyUI-Alpha", [node_pack_files("AlphaNode")])
    ssh_pack, local_pack = comfy_dir / "custom_nodes" / "alpha-ssh", comfy_dir / "custom_nodes" / "alpha-local"
    for pack in (ssh_pack, local_pack):
        subprocess.run(["git", "clone", "-q", str(bare), str(pack)], check=True)
    subprocess.run(["git", "-C", str(ssh_pack), "remote", "set-url", "origin",
                    "git@github.com:alice/ComfyUI-Alpha.git"], check=True)
    out = tmp_path / "manifest.toml"
    code = main(["freeze", "-o", str(out), "--comfyui", str(comfy_dir), "--catalog-dir", str(small_catalog)])
    printed = capsys.readouterr().out
    assert code == 1
    assert ("cannot be reproduced elsewhere: pack alpha-ssh: its origin git@github.com:alice/ComfyUI-Alpha.git is an "
            "SSH URL; Mend installs over https only (https://github.com/alice/ComfyUI-Alpha if the repository is "
            "public)") in printed
    assert f"pack alpha-local: its origin {bare} is a local path: another machine cannot clone it" in printed

    fresh = tmp_path / "fresh"
    (fresh / "models" / "loras").mkdir(parents=True)
    (fresh / "custom_nodes").mkdir()
    before = tree_state(fresh / "custom_nodes")
    for extra in (["--dry-run"], []):  # the real run installs nothing either (its state lands in user/mend)
        code = main(["sync", str(out), "--comfyui", str(fresh), "--catalog-dir", str(small_catalog), *extra])
        printed = capsys.readouterr().out
        rows = {line.split()[1]: line for line in printed.splitlines() if line.startswith("pack")}
        assert code == 1 and tree_state(fresh / "custom_nodes") == before
        assert "unavailable" in rows["alpha-ssh"] and "is an SSH URL" in rows["alpha-ssh"]
        assert "unavailable" in rows["alpha-local"] and "is a local path" in rows["alpha-local"]


def test_sync_without_a_pinned_sha256_trusts_only_the_recorded_size(tmp_path, comfy_dir, small_catalog, capsys):
    """A same-named file of another size is a conflict, not "present" (finding E7, for mend sync)."""
    manifest = tmp_path / "manifest.toml"
    manifest.write_text('[tool.mend.models."loras/model.safetensors"]\nfolder = "loras"\n'
                        'path = "model.safetensors"\nsize = 2048\n'
                        'sources = ["https://huggingface.co/acme/a/resolve/main/model.safetensors"]\n')
    target = comfy_dir / "models" / "loras" / "model.safetensors"
    target.write_bytes(b"y" * 4096)  # another repository's model.safetensors
    args = ["sync", str(manifest), "--comfyui", str(comfy_dir), "--dry-run", "--catalog-dir", str(small_catalog)]
    assert main(args) == 1
    row = next(line for line in capsys.readouterr().out.splitlines() if "loras/model.safetensors" in line)
    assert "conflict" in row and "holds 4096 bytes, the manifest records 2048" in row
    target.write_bytes(b"y" * 2048)
    assert main(args) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "loras/model.safetensors" in line)
    assert "present" in row and "the recorded size matches" in row
    assert target.read_bytes() == b"y" * 2048
