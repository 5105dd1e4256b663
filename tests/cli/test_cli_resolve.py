"""``mend resolve``: one question at a time, each answer on disk at once, Ctrl+C resumes where it stopped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mend.cli import build_parser, main
from mend.cli import resolve as cli_resolve
from mend.core.decide.manifest import Manifest

from ..decisions_support import QUESTIONS, saved_workflow

ANSWERS = {"AlphaNode": "1", "SharedNode": "2", "Gen_Thing": "o", "3/ckpt_name": "1", "12:5/lora_name": "s"}


def args_for(comfy_dir: Path, catalog: Path, manifest: Path, wf: Path, *extra: str):
    return build_parser().parse_args(["resolve", str(wf), "--comfyui", str(comfy_dir), "--catalog-dir", str(catalog),
                                      "--manifest", str(manifest), "--no-registry", "--no-fetch", *extra])


class Asker:
    """Answers from ANSWERS; fails if asked the same thing twice; interrupts after ``stop_after`` answers."""

    def __init__(self, stop_after: int | None = None, seen: set[str] | None = None) -> None:
        self.stop_after = stop_after
        self.seen = seen if seen is not None else set()
        self.asked: list[str] = []

    def __call__(self, question: cli_resolve.Question) -> str:
        ref = question.item.ref
        assert ref not in self.seen, f"asked {ref} twice"
        if self.stop_after is not None and len(self.asked) == self.stop_after:
            raise KeyboardInterrupt  # stands in for Ctrl+C at the prompt
        self.seen.add(ref)
        self.asked.append(ref)
        return ANSWERS[ref]


def decided(manifest: Path, workflow_id: str) -> list[str]:
    res = Manifest(manifest, autofold=False).resolutions(workflow_id)
    return [*res["nodes"], *res["models"]]


@pytest.mark.parametrize("k", [0, 2, 4])
async def test_interrupt_after_k_answers_keeps_k_and_rerun_asks_the_rest(comfy_dir, small_catalog, tmp_path, k,
                                                                         capsys):
    wf = saved_workflow(comfy_dir)
    manifest = tmp_path / "state" / "pyproject.toml"
    first = Asker(stop_after=k)
    code = await cli_resolve.run(args_for(comfy_dir, small_catalog, manifest, wf), ask=first)
    assert code == 130
    assert f"saved {k} decisions, run again to continue" in capsys.readouterr().err
    assert sorted(decided(manifest, "w.json")) == sorted(QUESTIONS[:k])
    second = Asker(seen=set(first.seen))
    code = await cli_resolve.run(args_for(comfy_dir, small_catalog, manifest, wf), ask=second)
    assert second.asked == QUESTIONS[k:]
    assert sorted(decided(manifest, "w.json")) == sorted(QUESTIONS)
    assert code == 1  # the lora was skipped: something is still open
    res = Manifest(manifest).resolutions("w.json")
    assert res["nodes"] == {"AlphaNode": "comfyui-alpha", "SharedNode": "https://github.com/bob/copycat",
                            "Gen_Thing": False}
    assert res["models"]["3/ckpt_name"]["path"] == "xl/sdxl.safetensors"
    assert json.loads(wf.read_text())["nodes"][2]["widgets_values"] == ["xl/sdxl.safetensors"]
    third = Asker(seen=set())
    await cli_resolve.run(args_for(comfy_dir, small_catalog, manifest, wf), ask=third)
    assert third.asked == []


async def test_yes_accepts_certain_matches_without_asking(comfy_dir, small_catalog, tmp_path, capsys):
    wf = saved_workflow(comfy_dir)
    manifest = tmp_path / "pyproject.toml"
    asker = Asker()
    await cli_resolve.run(args_for(comfy_dir, small_catalog, manifest, wf, "--yes"), ask=asker)
    assert asker.asked == ["SharedNode", "Gen_Thing", "12:5/lora_name"]
    out = capsys.readouterr().out
    assert "auto: node type AlphaNode" in out and "install_pack: Comfy Registry: comfyui-alpha (newest)" in out
    assert decided(manifest, "w.json") == ["AlphaNode", "SharedNode", "Gen_Thing", "3/ckpt_name", "12:5/lora_name"]


async def test_bad_answer_is_explained_and_asked_again(comfy_dir, small_catalog, tmp_path, capsys):
    wf = saved_workflow(comfy_dir)
    answers = iter(["9", "http://insecure/x.safetensors", "maybe", "s"])
    asked: list[str] = []

    def ask(question: cli_resolve.Question) -> str:
        asked.append(question.item.ref)
        if question.item.ref == "12:5/lora_name":
            return next(answers)
        return "s"

    await cli_resolve.run(args_for(comfy_dir, small_catalog, tmp_path / "m.toml", wf), ask=ask)
    err = capsys.readouterr().err
    assert "9 is not one of the choices: type 1" in err and "only https URLs" in err and "is not an answer" in err
    assert asked.count("12:5/lora_name") == 4


def test_corrupt_manifest_exits_2_and_is_untouched(comfy_dir, small_catalog, tmp_path, capsys):
    wf = saved_workflow(comfy_dir)
    manifest = tmp_path / "pyproject.toml"
    manifest.write_text("[tool.mend\n")
    before = wf.read_bytes()
    code = main(["resolve", str(wf), "--comfyui", str(comfy_dir), "--catalog-dir", str(small_catalog),
                 "--manifest", str(manifest), "--no-registry"])
    assert code == 2
    assert "not valid TOML" in capsys.readouterr().err
    assert manifest.read_text() == "[tool.mend\n" and wf.read_bytes() == before
    assert not (tmp_path / "pyproject.decisions.jsonl").exists()


def test_missing_workflow_file_exits_2(comfy_dir, small_catalog, tmp_path):
    assert main(["resolve", str(tmp_path / "nope.json"), "--comfyui", str(comfy_dir), "--catalog-dir",
                 str(small_catalog), "--manifest", str(tmp_path / "m.toml"), "--no-registry"]) == 2
