"""Mend installs the supported ways, from a clean clone: git clone into custom_nodes (imported the way
ComfyUI imports a pack) and pip into a fresh virtual environment (the ``mend`` command runs); its registry
metadata follows the Comfy Registry's guidance.

No network: the clone is of this repository, and the fresh venv reaches Mend's dependencies through a
``.pth`` line to this interpreter's site-packages (``--no-deps --no-index``).
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import tomlkit

REPO = Path(__file__).resolve().parent.parent


def committed_files() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout: the packaging tests clone the repository")
    return out.stdout.splitlines()


def comfyignored(path: str, patterns: list[str]) -> bool:
    """gitignore's rules as ``.comfyignore`` uses them here: ``dir/`` prefixes and glob patterns."""
    for pattern in patterns:
        if pattern.endswith("/") and (path.startswith(pattern) or f"/{pattern}" in f"/{path}"):
            return True
        if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path.rsplit("/", 1)[-1], pattern):
            return True
    return False


def test_registry_metadata_follows_the_registry_guidance():
    project = tomlkit.parse((REPO / "pyproject.toml").read_text()).unwrap()["project"]
    assert "comfyui" not in project["name"].lower()
    assert isinstance(project["license"], dict) and set(project["license"]) <= {"file", "text"}
    assert (REPO / project["license"]["file"]).is_file()
    patterns = [ln.strip() for ln in (REPO / ".comfyignore").read_text().splitlines()
                if ln.strip() and not ln.startswith("#")]
    shipped = [f for f in committed_files() if not comfyignored(f, patterns)]
    assert not [f for f in shipped if f.split("/", 1)[0] in ("tests", "bench", "docs")]
    for needed in ("__init__.py", "pyproject.toml", "requirements.txt", "LICENSE", "web/js/mend.js",
                   "core/install/pack_task.py", "core/data/core_node_schemas.json"):
        assert needed in shipped


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A fresh clone of this repository's HEAD inside a ``custom_nodes`` folder."""
    committed_files()
    target = tmp_path_factory.mktemp("ComfyUI") / "custom_nodes" / "mend-from-git"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(target)], check=True)
    return target


IMPORT_LIKE_COMFYUI = """
import importlib.util, json, sys
path = sys.argv[1]
name = path.replace(".", "_x_")  # what ComfyUI's nodes.load_custom_node does
spec = importlib.util.spec_from_file_location(name, path + "/__init__.py")
module = importlib.util.module_from_spec(spec)
sys.modules[name] = module
spec.loader.exec_module(module)
core = importlib.import_module(name + ".core.install.pack_task")
print(json.dumps({"file": module.__file__, "core": core.__file__, "web": module.WEB_DIRECTORY,
                  "nodes": sorted(module.NODE_CLASS_MAPPINGS)}))
"""


def test_a_git_clone_imports_as_a_custom_node(clone, tmp_path):
    out = subprocess.run([sys.executable, "-c", IMPORT_LIKE_COMFYUI, str(clone)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded["file"].startswith(str(clone)) and loaded["core"].startswith(str(clone))
    assert loaded["nodes"] and (clone / loaded["web"] / "mend.js").is_file()


def test_pip_installs_into_a_fresh_venv_and_runs_mend(clone, tmp_path):
    fresh = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(fresh)], check=True, timeout=300)
    python = fresh / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # dependencies (and setuptools for the build) from this interpreter, without an index
    (Path(site) / "mend-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                              "--no-index", "--no-build-isolation", "--disable-pip-version-check", str(clone)],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stdout + install.stderr
    where = subprocess.run([str(python), "-c", "import mend; print(mend.__file__)"], cwd=tmp_path,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(fresh))  # the installed copy, not this checkout
    helped = subprocess.run([str(fresh / "bin" / "mend"), "--help"], capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and helped.stdout.startswith("usage: mend"), helped.stderr
