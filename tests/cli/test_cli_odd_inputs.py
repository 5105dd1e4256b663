"""Odd files get the message that names what they are (the installed ``mend``, exit 2 or a report, no traceback):
a Git LFS pointer, a PNG whose embedded workflow is damaged, an API prompt with non-node keys, plain non-workflows."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

MEND = Path(sys.executable).parent / "mend"
POINTER = ("version https://git-lfs.github.com/spec/v1\n"
           "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 1048576\n")


def png_with(key: str, text: str) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"tEXt", key.encode() + b"\0" + text.encode())
            + chunk(b"IEND", b""))


def mend_check(path: Path, comfy_dir: Path, catalog: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(MEND), "check", str(path), "--comfyui", str(comfy_dir), "--catalog-dir", str(catalog),
                           "--no-registry"], capture_output=True, text=True, timeout=120)


def test_odd_inputs_are_named_for_what_they_are(tmp_path, comfy_dir, small_catalog):
    pointer = tmp_path / "ahri-the-huntress.png"
    pointer.write_text(POINTER)
    out = mend_check(pointer, comfy_dir, small_catalog)
    assert out.returncode == 2 and "is a Git LFS pointer (a 1048576-byte file kept in Git LFS)" in out.stderr
    assert "fetch the real file" in out.stderr and "JSON" not in out.stderr

    damaged = tmp_path / "damaged.png"
    damaged.write_bytes(png_with("workflow", '{"nodes": [{"id": 1, "type": "KSampler"'))
    out = mend_check(damaged, comfy_dir, small_catalog)
    assert out.returncode == 2 and "embeds a workflow that is damaged" in out.stderr, out.stderr
    assert "'workflow' metadata is not valid JSON" in out.stderr and "embeds no" not in out.stderr

    for name, data in (("x.json", {"foo": 1}), ("y.json", [1, 2])):
        (tmp_path / name).write_text(json.dumps(data))
        out = mend_check(tmp_path / name, comfy_dir, small_catalog)
        assert out.returncode == 2 and "mend: error: " in out.stderr and "($)" not in out.stderr, out.stderr
        assert "Traceback" not in out.stderr


def test_an_api_prompt_with_a_meta_key_is_read_with_a_warning(tmp_path, comfy_dir, small_catalog):
    prompt = {"_meta": {"title": "kling pipeline", "version": 3}, "notes": "made by a tool",
              "1": {"class_type": "AlphaNode", "inputs": {}}}
    wf = tmp_path / "kling.json"
    wf.write_text(json.dumps(prompt))
    out = mend_check(wf, comfy_dir, small_catalog)
    assert out.returncode == 1, out.stderr  # read, and AlphaNode is missing
    assert "not_a_node: top-level keys '_meta', 'notes' of the API prompt are not a node" in out.stdout
    assert "AlphaNode" in out.stdout
