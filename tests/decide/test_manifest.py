"""The manifest: records, comments kept through many writes, corrupt files refused, crash replay."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomlkit

from mend.core.decide.manifest import Manifest, set_op
from mend.core.errors import ManifestCorrupt


def _toml(text: str) -> dict:
    return tomlkit.parse(text).unwrap()


HAND_EDITED = """\
# My environment, kept by hand and by Mend.
[project]
name = "my-box"   # the box's name

[tool.mend]
version = 1
# packs I care about:

[tool.mend.packs.comfyui-foo]
# pinned on purpose, do not bump
source = "registry"
version = "1.0.0"
"""


def test_records_are_visible_at_once_and_folded_into_the_toml(tmp_path: Path):
    m = Manifest(tmp_path / "mend" / "pyproject.toml", autofold=False)
    m.record_pack("comfyui-foo", source="registry", version="1.2.0", repository="https://github.com/a/foo")
    m.record_model("checkpoints", "xl/a.safetensors", size=3, sha256="ab" * 32, sources=["https://h/a"])
    m.write([set_op("workflows", "w.json", "nodes", "Foo", value="comfyui-foo")])
    assert not m.path.exists()  # durable in the log only, so far
    assert m.packs()["comfyui-foo"]["version"] == "1.2.0"
    assert m.resolutions("w.json") == {"nodes": {"Foo": "comfyui-foo"}, "models": {}}
    assert m.flush() is True
    data = _toml(m.path.read_text())["tool"]["mend"]
    assert data["models"]["checkpoints/xl/a.safetensors"]["size"] == 3
    assert data["workflows"]["w.json"]["nodes"] == {"Foo": "comfyui-foo"}
    assert m.log.read() == []
    assert Manifest(m.path).data()["packs"] == m.packs()


def test_hand_edited_comments_survive_a_dozen_writes(tmp_path: Path):
    path = tmp_path / "pyproject.toml"
    path.write_text(HAND_EDITED)
    m = Manifest(path, autofold=False)
    for i in range(12):
        m.record_pack("comfyui-foo", source="registry", version=f"1.0.{i}")
        m.record_model("loras", f"l{i}.safetensors", size=i)
        m.write([set_op("workflows", "w.json", "models", f"{i}/lora_name",
                        value={"folder": "loras", "path": f"l{i}.safetensors", "status": "resolved"})])
        m.flush()
    text = path.read_text()
    for comment in ("# My environment, kept by hand and by Mend.", "# the box's name", "# packs I care about:",
                    "# pinned on purpose, do not bump"):
        assert comment in text
    data = _toml(text)
    assert data["project"]["name"] == "my-box"
    assert data["tool"]["mend"]["packs"]["comfyui-foo"]["version"] == "1.0.11"
    assert len(data["tool"]["mend"]["workflows"]["w.json"]["models"]) == 12


def test_an_edit_made_by_hand_between_writes_is_kept(tmp_path: Path):
    path = tmp_path / "pyproject.toml"
    m = Manifest(path, autofold=False)
    m.record_pack("a", source="git", commit="1" * 40)
    m.flush()
    path.write_text(path.read_text() + '\n[tool.mend.packs.by-hand]\nsource = "git"  # added in vim\n')
    m.record_pack("b", source="git", commit="2" * 40)
    m.flush()
    text = path.read_text()
    assert "# added in vim" in text
    assert set(_toml(text)["tool"]["mend"]["packs"]) == {"a", "b", "by-hand"}


def test_corrupt_manifest_is_refused_and_left_untouched(tmp_path: Path):
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.mend]\nversion = 1\npacks = [broken\n")
    before = path.read_bytes()
    m = Manifest(path, autofold=False)
    with pytest.raises(ManifestCorrupt) as e:
        m.record_pack("a", source="git")
    assert "line 3" in e.value.message and str(path) in e.value.message
    with pytest.raises(ManifestCorrupt):
        m.data()
    assert path.read_bytes() == before and m.log.read() == []


def test_wrong_shape_is_corrupt_too(tmp_path: Path):
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.mend]\npacks = "none"\n')
    with pytest.raises(ManifestCorrupt, match=r"tool\.mend\.packs"):
        Manifest(path).record_pack("a", source="git")


def test_failed_follow_up_undoes_the_record(tmp_path: Path):
    m = Manifest(tmp_path / "pyproject.toml", autofold=False)
    m.record_pack("kept", source="git")

    def fails() -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        m.write([set_op("packs", "undone", value={"source": "git"})], then=fails)
    assert set(m.packs()) == {"kept"}
    assert len(m.log.read()) == 1


def test_torn_last_line_is_ignored_and_cut_before_the_next_append(tmp_path: Path):
    m = Manifest(tmp_path / "pyproject.toml", autofold=False)
    m.record_pack("a", source="git")
    with open(m.log.path, "ab") as f:
        f.write(b'{"id": "x", "ops": [{"op": "set", "path": ["packs", "torn"]')  # died mid-write
    assert set(m.packs()) == {"a"}
    m.record_pack("b", source="git")
    assert set(m.packs()) == {"a", "b"} and len(m.log.read()) == 2


def test_crash_after_replace_before_clearing_the_log_does_not_reapply(tmp_path: Path):
    path = tmp_path / "pyproject.toml"
    m = Manifest(path, autofold=False)
    m.record_pack("a", source="git", commit="1" * 40)
    log_copy = m.log.path.read_bytes()
    m.flush()
    m.log.path.write_bytes(log_copy)  # as if the process died right after os.replace
    path.write_text(path.read_text().replace("1" * 40, "2" * 40))  # then a person edited the entry
    fresh = Manifest(path, autofold=False)
    assert fresh.packs()["a"]["commit"] == "2" * 40
    fresh.flush()
    assert _toml(path.read_text())["tool"]["mend"]["packs"]["a"]["commit"] == "2" * 40


def test_background_fold_writes_the_toml_soon(tmp_path: Path):
    m = Manifest(tmp_path / "pyproject.toml", fold_delay=0.01)
    m.record_pack("a", source="git")
    m.close()
    assert "[tool.mend.packs.a]" in m.path.read_text()
