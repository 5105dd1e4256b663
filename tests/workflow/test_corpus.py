"""Real third-party workflows (the 220 templates ComfyUI 0.8.0 ships, users' shared workflows) are read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mend.core.errors import MendError
from mend.core.host_standalone import load_core_schemas
from mend.core.node_schema import schemas_from_object_info
from mend.core.workflow.model_refs import model_refs
from mend.core.workflow.reader import read_workflow

from ..conftest import shared_path


def template_files() -> list[Path]:
    folder = shared_path("corpus", "templates")
    files = [p for p in sorted(folder.glob("*.json")) if not p.name.startswith(("index", "fuse_options"))]
    assert len(files) >= 220
    return files


def strip_models(value):
    if isinstance(value, dict):
        return {k: strip_models(v) for k, v in value.items() if k != "models"}
    if isinstance(value, list):
        return [strip_models(v) for v in value]
    return value


def declared_models(value, found: set) -> set:
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "models" and isinstance(v, list):
                found.update((m["name"], m.get("directory")) for m in v if isinstance(m, dict))
            else:
                declared_models(v, found)
    elif isinstance(value, list):
        for v in value:
            declared_models(v, found)
    return found


def user_workflow_files() -> list[Path]:
    files = sorted(shared_path("corpus", "user-workflows", "wf").iterdir())
    assert len(files) >= 66
    return files


def test_every_workflow_of_the_corpus_is_read_none_refused():
    """What ComfyUI's frontend loads, Mend reads: broken links in real files are warnings, not refusals."""
    refused, warned = [], 0
    for path in [*template_files(), *user_workflow_files()]:
        try:
            wf = read_workflow(json.loads(path.read_text(encoding="utf-8")))
        except MendError as exc:
            refused.append((path.name, exc.message))
            continue
        assert wf.nodes, path.name
        warned += any(w.code == "dangling_link" for w in wf.warnings)
    assert refused == []
    assert warned >= 3  # the corpus has files with dangling links: they are read, and said


@pytest.mark.parametrize("source", ["sentinel object_info", "recorded core schemas"])
def test_model_references_cover_the_declared_models_without_metadata(source):
    if source == "sentinel object_info":
        info = json.loads(shared_path("corpus", "object_info-comfyui-0.8.0-sentinels.json").read_text())
        schemas = schemas_from_object_info(info)
    else:
        schemas = load_core_schemas()
    total = covered = 0
    misses = []
    for path in template_files():
        data = json.loads(path.read_text(encoding="utf-8"))
        declared = declared_models(data, set())
        refs = model_refs(read_workflow(strip_models(data)), schemas)
        found = {(r.value, r.folder) for r in refs}
        for pair in declared:
            total += 1
            if pair in found:
                covered += 1
            else:
                misses.append((path.name, pair))
    assert total > 400
    assert covered / total >= 0.99, misses[:20]
