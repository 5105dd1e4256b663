"""The fresh clone every CLI test from the outside shares: made once per session (it builds a venv)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ..fresh_venv import build_wheelhouse, copy_work_tree, offline_env, readme_first_command


def example_catalog(d: Path) -> Path:
    """Manager's catalog files, offline, knowing the pack the example workflow needs."""
    d.mkdir(parents=True, exist_ok=True)
    repo = "https://github.com/rgthree/rgthree-comfy"
    (d / "extension-node-map.json").write_text(json.dumps({repo: [["Seed (rgthree)"], {"title_aux": "rgthree"}]}))
    (d / "custom-node-list.json").write_text(json.dumps({"custom_nodes": [
        {"author": "rgthree", "title": "rgthree's ComfyUI Nodes", "id": "rgthree-comfy", "reference": repo,
         "files": [repo], "install_type": "git-clone"}]}))
    (d / "github-stats.json").write_text(json.dumps({repo: {"stars": 2000}}))
    (d / "model-list.json").write_text(json.dumps({"models": []}))
    return d


@pytest.fixture(scope="session")
def fresh(tmp_path_factory) -> dict:
    """A fresh clone where the README's first command ran (once per session)."""
    root = tmp_path_factory.mktemp("fresh")
    house = build_wheelhouse(root / "wheels")
    clone = copy_work_tree(root / "clone")
    catalog = example_catalog(root / "catalog")
    env = offline_env(house, MEND_CATALOG_DIR=str(catalog), MEND_REGISTRY_URL="", MEND_CACHE_DIR=str(root / "cache"))
    readme = subprocess.run(["bash", "-c", readme_first_command()], cwd=clone, env=env, capture_output=True,
                            text=True, timeout=600)
    return {"clone": clone, "env": env, "catalog": catalog, "readme": readme, "cache": root / "cache"}
