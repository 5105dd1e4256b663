"""The e2e harness finds ComfyUI's own python by the folder and names what an unusable one lacks.

These run without a ComfyUI: the layouts are empty files in the shapes installs leave.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .e2e.comfyui_process import comfyui_python, find_comfyui_python, import_problems, required_modules


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    return path


@pytest.mark.parametrize("relative", ["ComfyUI/venv/bin/python", "ComfyUI/.venv/bin/python",
                                      "ComfyUI/venv/Scripts/python.exe", "python_embeded/python.exe",
                                      "ComfyUI/python_embeded/python.exe"])
def test_finds_the_interpreter_an_install_keeps(tmp_path, relative):
    comfyui = tmp_path / "ComfyUI"
    comfyui.mkdir()
    python = touch(tmp_path / relative)
    assert find_comfyui_python(comfyui) == python


def test_a_venv_in_the_checkout_wins_over_a_portable_python_beside_it(tmp_path):
    comfyui = tmp_path / "ComfyUI"
    touch(tmp_path / "python_embeded" / "python.exe")
    assert find_comfyui_python(comfyui / "ComfyUI") is None
    assert find_comfyui_python(comfyui) == tmp_path / "python_embeded" / "python.exe"
    venv = touch(comfyui / ".venv" / "bin" / "python")
    assert find_comfyui_python(comfyui) == venv


def test_comfyui_python_env_wins_then_the_folder_then_this_interpreter(tmp_path, monkeypatch):
    monkeypatch.delenv("COMFYUI_PYTHON", raising=False)
    assert comfyui_python(tmp_path) == sys.executable
    venv = touch(tmp_path / "venv" / "bin" / "python")
    assert comfyui_python(tmp_path) == str(venv)
    monkeypatch.setenv("COMFYUI_PYTHON", "/opt/other/python")
    assert comfyui_python(tmp_path) == "/opt/other/python"


def test_required_modules_cover_comfyuis_start_and_mends_dependencies():
    modules = required_modules()
    assert {"torch", "torchvision", "aiohttp", "yaml", "huggingface_hub", "tomlkit"} <= set(modules)


def test_import_problems_names_each_missing_module_and_a_python_that_does_not_run(tmp_path):
    problems = import_problems(sys.executable, ["json", "mend_no_such_module"])
    assert len(problems) == 1 and problems[0].startswith("mend_no_such_module (ModuleNotFoundError")
    assert "did not run" in import_problems(str(tmp_path / "no-python"), ["json"])[0]
