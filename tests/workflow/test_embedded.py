"""Workflows inside the files ComfyUI saves are read like their JSON; a file embedding none is a clear exit 2.

The fixtures in ``tests/fixtures/embedded`` were written by ``make.py`` there with ComfyUI's own calls
(Pillow's ``PngInfo``/EXIF, PyAV container metadata), so they are byte-for-byte what ComfyUI 0.8.0 saves.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from mend.cli import main
from mend.core.errors import NoEmbeddedWorkflow
from mend.core.workflow.embedded import extract_workflow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "embedded"
MEND = Path(sys.executable).with_name("mend")
EMBEDDING_THE_UI_WORKFLOW = ["workflow.png", "animated.png", "animated.webp", "audio.flac", "audio.mp3",
                             "audio.opus", "video.mp4", "video.webm"]


def check_json(capsys, path: Path | str, catalog: Path, comfy: Path) -> tuple[int, dict]:
    code = main(["check", str(path), "--comfyui", str(comfy), "--catalog-dir", str(catalog), "--no-registry",
                 "--json"])
    report = json.loads(capsys.readouterr().out)
    report.pop("elapsed_ms")
    for catalog in report["catalogs"]:
        catalog.pop("age_seconds")  # whole seconds: two runs may fall on either side of a tick
    return code, report


@pytest.mark.parametrize("name", EMBEDDING_THE_UI_WORKFLOW)
def test_an_embedded_workflow_is_checked_like_its_json(capsys, name, small_catalog, comfy_dir):
    want = check_json(capsys, FIXTURES / "workflow.json", small_catalog, comfy_dir)
    assert want[0] == 1 and want[1]["summary"]["missing_nodes"] == 1
    assert check_json(capsys, FIXTURES / name, small_catalog, comfy_dir) == want


def test_without_a_ui_workflow_the_api_prompt_is_read(capsys, tmp_path, small_catalog, comfy_dir):
    prompt, where = extract_workflow((FIXTURES / "prompt-only.png").read_bytes())
    assert where == "PNG tEXt prompt"
    (tmp_path / "prompt.json").write_text(json.dumps(prompt))
    want = check_json(capsys, tmp_path / "prompt.json", small_catalog, comfy_dir)
    got = check_json(capsys, FIXTURES / "prompt-only.png", small_catalog, comfy_dir)
    assert got == want and got[1]["format"] == "api"


def test_a_workflow_longer_than_an_ogg_page_is_reassembled():
    workflow, where = extract_workflow((FIXTURES / "large.opus").read_bytes())
    assert where == "Ogg OpusTags workflow" and len(workflow["nodes"]) == 402


def png(*chunks: tuple[bytes, bytes]) -> bytes:
    out = b"\x89PNG\r\n\x1a\n"
    for kind, body in (*chunks, (b"IEND", b"")):
        out += struct.pack(">I4s", len(body), kind) + body + struct.pack(">I", zlib.crc32(kind + body))
    return out


def test_compressed_and_international_text_chunks():
    itxt = b"workflow\0\x01\0en\0\0" + zlib.compress(json.dumps({"nodes": [], "note": "ワーク"}).encode())
    assert extract_workflow(png((b"iTXt", itxt)))[0]["note"] == "ワーク"
    ztxt = b"prompt\0\0" + zlib.compress(b'{"1": {"class_type": "A", "inputs": {}}}')
    assert extract_workflow(png((b"zTXt", ztxt))) == ({"1": {"class_type": "A", "inputs": {}}}, "PNG zTXt prompt")


@pytest.mark.parametrize(("data", "message"), [
    ((FIXTURES / "none.png").read_bytes(), "embeds no ComfyUI workflow"),
    (png((b"tEXt", b"workflow\0{not json")), "embeds a workflow that is damaged"),
    ((FIXTURES / "audio.flac").read_bytes()[:60], "damaged where its metadata is"),
    (png((b"zTXt", b"workflow\0\0" + zlib.compress(b"0" * (300 * 2**20)))), "inflates past the limit"),
])
def test_a_file_embedding_no_workflow_is_named(data, message):
    with pytest.raises(NoEmbeddedWorkflow) as e:
        extract_workflow(data)
    assert message in e.value.message and e.value.status == 400


@pytest.mark.parametrize(("content", "message"), [
    ((FIXTURES / "none.png").read_bytes(), "embeds no ComfyUI workflow"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64), "neither JSON nor a file ComfyUI embeds a workflow in"),
    ((FIXTURES / "workflow.png").read_bytes()[:40], "damaged"),
])
def test_the_mend_command_exits_2_with_a_message_never_a_traceback(tmp_path, comfy_dir, small_catalog, content,
                                                                   message):
    path = tmp_path / "shared.png"
    path.write_bytes(content)
    done = subprocess.run([str(MEND), "check", str(path), "--comfyui", str(comfy_dir), "--catalog-dir",
                           str(small_catalog), "--no-registry"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and message in done.stderr and str(path) in done.stderr
    assert "Traceback" not in done.stderr
