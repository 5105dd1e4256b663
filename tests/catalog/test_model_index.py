"""The local model index over real folder trees, extra_model_paths.yaml included; the hash cache."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from mend.core.catalog.hashing import HashCache, sha256_file
from mend.core.catalog.model_index import ModelIndex
from mend.core.host_standalone import StandaloneHost


def index_for(host: StandaloneHost) -> ModelIndex:
    folders = host.model_folders()
    return ModelIndex(folders, {f: host.folder_extensions(f) for f in folders})


def test_default_layout_with_legacy_folders(comfy_dir):
    (comfy_dir / "models" / "clip").mkdir()
    (comfy_dir / "models" / "clip" / "t5.safetensors").write_bytes(b"1")
    (comfy_dir / "models" / "unet").mkdir()
    (comfy_dir / "models" / "unet" / "flux.gguf").write_bytes(b"1")  # not a listed extension in core
    (comfy_dir / "models" / "unet" / "flux.sft").write_bytes(b"1")
    index = index_for(StandaloneHost(comfy_dir)).scan()
    assert index.get("text_encoders", "t5.safetensors") is not None
    assert [f.relpath for f in index.in_folder("diffusion_models").values()] == ["flux.sft"]


def test_extra_model_paths_base_path_default_and_multiline(tmp_path, comfy_dir):
    shared = tmp_path / "shared-models"
    (shared / "sd" / "checkpoints").mkdir(parents=True)
    (shared / "sd" / "checkpoints" / "from_shared.safetensors").write_bytes(b"1")
    (shared / "lora_a").mkdir(parents=True)
    (shared / "lora_b").mkdir(parents=True)
    (shared / "lora_b" / "b.safetensors").write_bytes(b"1")
    (tmp_path / "rel" / "vae").mkdir(parents=True)
    yaml_file = comfy_dir / "extra_model_paths.yaml"
    yaml_file.write_text(
        f"""
a1111:
    base_path: {shared}
    is_default: true
    checkpoints: sd/checkpoints
    loras: |
        lora_a
        lora_b
    clip: sd/clip
other:
    vae: ../rel/vae
"""
    )
    host = StandaloneHost(comfy_dir)
    folders = host.model_folders()
    assert folders["checkpoints"][0] == shared / "sd" / "checkpoints"  # is_default: downloads go there
    # as in ComfyUI's add_model_folder_path: each default path is inserted first, so the last line leads
    assert folders["loras"][:2] == [shared / "lora_b", shared / "lora_a"]
    assert shared / "sd" / "clip" in folders["text_encoders"]  # legacy name mapped
    assert folders["vae"][-1] == (tmp_path / "rel" / "vae").resolve()  # relative to the yaml's folder
    index = index_for(host).scan()
    assert index.get("checkpoints", "from_shared.safetensors") is not None
    assert index.get("loras", "b.safetensors") is not None


def test_rescan_lists_only_changed_directories(comfy_dir):
    for i in range(5):
        d = comfy_dir / "models" / "loras" / f"d{i}"
        d.mkdir()
        (d / f"f{i}.safetensors").write_bytes(b"1")
    index = index_for(StandaloneHost(comfy_dir))
    index.scan()
    cold = index.dirs_listed
    index.scan()
    assert index.dirs_listed == 0
    new = comfy_dir / "models" / "loras" / "d3" / "new.safetensors"
    new.write_bytes(b"2")
    os.utime(new.parent, ns=(1, 1))  # a different mtime even on coarse-clock filesystems
    index.scan()
    assert index.dirs_listed == 1 and cold > 5
    assert index.get("loras", "d3/new.safetensors") is not None
    new.unlink()
    os.utime(new.parent, ns=(2, 2))
    index.scan()
    assert index.get("loras", "d3/new.safetensors") is None


def test_part_files_and_symlink_loops_are_ignored(comfy_dir):
    loras = comfy_dir / "models" / "loras"
    (loras / "big.safetensors.part").write_bytes(b"1")
    (loras / "loop").symlink_to(loras, target_is_directory=True)
    (loras / "ok.safetensors").write_bytes(b"1")
    index = index_for(StandaloneHost(comfy_dir)).scan()
    assert sorted(index.in_folder("loras")) == ["ok.safetensors"]


def test_sha256_matches_hashlib_and_cache_follows_changes(tmp_path: Path):
    f = tmp_path / "m.safetensors"
    f.write_bytes(os.urandom(3 * 1024 * 1024 + 7))
    assert sha256_file(f, chunk_size=1024 * 1024) == hashlib.sha256(f.read_bytes()).hexdigest()
    cache_file = tmp_path / "cache" / "sha.json"
    cache = HashCache(cache_file)
    first = cache.digest(f)
    assert HashCache(cache_file).cached(f) == first  # persisted
    assert HashCache(cache_file).find(first) == [f]
    f.write_bytes(b"changed")
    assert cache.cached(f) is None
    assert cache.digest(f) == hashlib.sha256(b"changed").hexdigest()
