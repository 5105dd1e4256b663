"""Model Info on real safetensors files written with ``safetensors.numpy``; torch only where it imports."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from mend.core.catalog.hashing import HashCache, sha256_file
from mend.core.errors import UnknownFolder, UnsafePath
from mend.nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS
from mend.nodes._runtime import file_fingerprint, find_model
from mend.nodes.model_info import MendModelInfo, describe_model

HAS_TORCH = importlib.util.find_spec("torch") is not None


@pytest.fixture
def lora(comfy_dir: Path) -> Path:
    path = comfy_dir / "models" / "loras" / "sub" / "tiny.safetensors"
    path.parent.mkdir()
    save_file({
        "down.weight": np.ones((4, 8), dtype=np.float16),
        "up.weight": np.zeros((8, 4), dtype=np.float16),
        "alpha": np.array([4.0], dtype=np.float32),
        "steps": np.arange(3, dtype=np.int64),
    }, str(path), metadata={"ss_network_dim": "4", "modelspec.title": "Tiny"})
    return path


def test_header_counts_dtypes_parameters_and_metadata(lora: Path, tmp_path: Path):
    hashes = HashCache(tmp_path / "sha.json")
    report = describe_model(lora, hashes)
    assert (report.tensor_count, report.parameter_count) == (4, 32 + 32 + 1 + 3)
    assert report.dtypes == {"F16": 2, "F32": 1, "I64": 1}
    assert report.metadata == {"ss_network_dim": "4", "modelspec.title": "Tiny"}
    assert report.sha256 == sha256_file(lora) and report.loaded is None
    summary = report.summary()
    assert "tensors: 4 (F16×2, F32×1, I64×1)" in summary and "parameters: 68" in summary


def test_sha256_is_cached_by_size_and_mtime(lora: Path, tmp_path: Path):
    hashes = HashCache(tmp_path / "sha.json")
    first = describe_model(lora, hashes).sha256
    assert HashCache(tmp_path / "sha.json").cached(lora) == first  # persisted for the next server start
    save_file({"x": np.ones(2, dtype=np.float32)}, str(lora))  # rewritten: a new version, a new digest
    assert hashes.cached(lora) is None
    assert describe_model(lora, hashes).sha256 == sha256_file(lora) != first


def test_a_broken_header_is_a_clear_error(comfy_dir: Path, tmp_path: Path):
    bad = comfy_dir / "models" / "checkpoints" / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with pytest.raises(ValueError, match=r"bad\.safetensors has no valid safetensors header"):
        describe_model(bad, HashCache(None))


def test_pickle_files_get_hash_and_size_but_are_never_loaded(comfy_dir: Path):
    ckpt = comfy_dir / "models" / "checkpoints" / "old.ckpt"
    ckpt.write_bytes(b"not really a pickle")
    report = describe_model(ckpt, HashCache(None))
    assert not report.is_safetensors and report.size == 19 and "no safetensors header" in report.summary()
    with pytest.raises(ValueError, match="pickle"):
        describe_model(ckpt, HashCache(None), load_tensors=True)


def test_files_are_found_in_every_directory_of_a_folder_and_nowhere_else(comfy_dir, small_catalog, mend_for, lora):
    folders = mend_for(comfy_dir, small_catalog).host.model_folders()
    assert find_model(folders, "loras", "sub/tiny.safetensors") == lora
    assert find_model(folders, "loras", "absent.safetensors") is None
    with pytest.raises(UnsafePath):
        find_model(folders, "loras", "../checkpoints/x.safetensors")
    with pytest.raises(UnknownFolder):
        find_model(folders, "nope", "x.safetensors")
    before = file_fingerprint(lora)
    save_file({"x": np.ones(3, dtype=np.float32)}, str(lora))
    assert file_fingerprint(lora) != before and file_fingerprint(None) == "missing"


def test_node_is_registered_with_a_description_and_tooltips():
    assert NODE_CLASS_MAPPINGS["MendModelInfo"] is MendModelInfo
    assert NODE_DISPLAY_NAME_MAPPINGS["MendModelInfo"] == "Model Info (Mend)"
    inputs = MendModelInfo.INPUT_TYPES()["required"]
    assert "loras" in inputs["folder"][0] and "custom_nodes" not in inputs["folder"][0]
    assert all(spec[1].get("tooltip") for spec in inputs.values())
    assert MendModelInfo.CATEGORY == "Mend" and MendModelInfo.DESCRIPTION
    assert len(MendModelInfo.OUTPUT_TOOLTIPS) == len(MendModelInfo.RETURN_TYPES)
    assert json.loads(json.dumps(MendModelInfo.INPUT_TYPES()))  # the registry's scanner serialises it


def test_importing_the_nodes_never_imports_torch():
    code = ("import sys, mend.nodes; bad = [m for m in ('torch', 'safetensors', 'numpy') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed: loading tensors needs it")
def test_load_tensors_with_torch_finds_non_finite_values(lora: Path):
    save_file({"ok": np.ones(4, dtype=np.float32), "nan": np.array([1.0, np.nan], dtype=np.float32),
               "ints": np.arange(5, dtype=np.int32)}, str(lora))
    report = describe_model(lora, HashCache(None), load_tensors=True)
    assert report.loaded == {"tensors": 3, "bytes": 16 + 8 + 20, "non_finite_tensors": 1}
    assert "1 with NaN/Inf" in report.summary()
