"""Resolving one workflow: which workflow it is, its analysis with past decisions, what is still open.

A workflow is known by an id under which the manifest keeps its resolutions:

- a saved workflow: its path relative to ComfyUI's user workflows folder (``<user>/default/workflows/``),
  with forward slashes, e.g. ``portraits/flux.json``; the file itself is rewritten when a model is resolved;
- an unsaved graph in the editor: the UI workflow's top-level ``"id"`` (a uuid); nothing but the
  manifest is written, the editor applies the decision to its graph;
- the CLI's argument: its path relative to the workflows folder when it lies inside, else its
  absolute path (the file is rewritten as well).

    target = target_from_request(host, "portraits/flux.json")
    report = await analyze_target(mend, target)     # decided items carry "decision"
    [item.label for item in open_items(report)]      # what is still to be asked
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .analyze import AnalysisReport
from .errors import BadRequest, InvalidField, InvalidJSON, NotFound, UnsafePath
from .host import Host
from .resolve_models import MissingModel
from .resolve_nodes import MissingNode
from .services import Mend

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class WorkflowTarget:
    """A workflow being resolved: its manifest id and, when it is a file, that file."""

    id: str
    file: Path | None = None


@dataclass(frozen=True)
class OpenItem:
    """One thing to decide: a missing node type or a missing model reference."""

    kind: str  # "node" | "model"
    ref: str  # the node type, or the ModelRef key ("12:5/ckpt_name")
    item: MissingNode | MissingModel

    @property
    def auto(self) -> bool:
        return self.item.auto

    @property
    def label(self) -> str:
        if isinstance(self.item, MissingNode):
            return f"node type {self.ref}"
        return f"model {self.item.ref.value} ({self.item.ref.folder or '?'}, node {self.item.ref.node_id})"


def workflows_dir(host: Host) -> Path:
    """ComfyUI's folder of saved workflows (the editor's "Workflows" sidebar)."""
    return host.user_dir() / "default" / "workflows"


def target_from_request(host: Host, ident: object) -> WorkflowTarget:
    """An id from a request: a uuid (unsaved graph) or a path inside the workflows folder that exists."""
    if not isinstance(ident, str) or not ident.strip():
        raise InvalidField("workflow must be a workflow file path or the graph's id", field="workflow")
    if UUID.match(ident):
        return WorkflowTarget(id=ident.lower())
    if "\0" in ident or "\\" in ident or ident.startswith("/") or (len(ident) > 1 and ident[1] == ":"):
        raise UnsafePath(f"workflow {ident!r} must be relative to the workflows folder", field="workflow")
    parts = PurePosixPath(ident).parts
    if any(p in ("..", ".") for p in parts) or not ident.endswith(".json"):
        raise UnsafePath(f"workflow {ident!r} must be a .json path inside the workflows folder", field="workflow")
    root = workflows_dir(host).resolve()
    file = (root / ident).resolve()
    if root not in file.parents:
        raise UnsafePath(f"workflow {ident!r} leaves the workflows folder", field="workflow")
    if not file.is_file():
        raise NotFound(f"no workflow {ident!r} in {root}", field="workflow")
    return WorkflowTarget(id=ident, file=file)


def target_from_cli(host: Host, path: Path) -> WorkflowTarget:
    """The CLI's workflow file, known by the same id the editor uses when it is a saved workflow."""
    file = Path(path).resolve()
    if not file.is_file():
        raise BadRequest(f"{path} is not a file", field="workflow")
    root = workflows_dir(host).resolve()
    return WorkflowTarget(id=file.relative_to(root).as_posix() if root in file.parents else str(file), file=file)


def read_target(target: WorkflowTarget) -> Any:
    """The workflow JSON of a file target (blocking)."""
    assert target.file is not None
    try:
        return json.loads(target.file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise NotFound(f"cannot read {target.file}: {exc.strerror}", field="workflow") from exc
    except ValueError as exc:
        raise InvalidJSON(f"{target.file} is not valid JSON: {exc}", field="workflow") from exc


def graph_id(graph: Any) -> str:
    """The top-level id of an unsaved UI graph."""
    ident = graph.get("id") if isinstance(graph, dict) else None
    if not isinstance(ident, str) or not UUID.match(ident):
        raise InvalidField("an unsaved graph needs its top-level \"id\" (a uuid)", field="graph.id")
    return ident.lower()


def open_items(report: AnalysisReport, *, include_skipped: bool = False) -> list[OpenItem]:
    """Every missing node type and model reference with no decision yet, nodes first."""
    items = []
    for node in report.missing_nodes:
        decided = report.node_decision(node)
        if decided is None or (include_skipped and decided.get("status") == "skipped"):
            items.append(OpenItem("node", node.type, node))
    for model in report.missing_models:
        decided = report.model_decision(model)
        if decided is None or (include_skipped and decided.get("status") == "skipped"):
            items.append(OpenItem("model", model.ref.key, model))
    return items


async def analyze_target(mend: Mend, target: WorkflowTarget, graph: Any = None, *,
                         use_registry: bool = True) -> AnalysisReport:
    """Analyse the workflow as it is now (the file, or the graph sent for an unsaved workflow)."""
    data = graph if target.file is None else await asyncio.to_thread(read_target, target)
    return await mend.analyzer.analyze(data, use_registry=use_registry, workflow_id=target.id)
