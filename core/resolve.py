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
from .report_items import MARKS
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
    ref: str  # the node type, or the ModelRef key ("12:5/ckpt_name") a decision is made for
    item: MissingNode | MissingModel
    #: models: every open reference to the same file (the decision applies to all of them)
    same_file: tuple[MissingModel, ...] = ()
    #: "bypassed"/"muted" when no node that needs it runs (a run does not fail for it)
    mark: str | None = None

    @property
    def auto(self) -> bool:
        return self.item.auto

    @property
    def node_ids(self) -> list[str]:
        return self.item.node_ids if isinstance(self.item, MissingNode) else [m.ref.node_id for m in self.same_file]

    @property
    def label(self) -> str:
        if isinstance(self.item, MissingNode):
            return f"node type {self.ref}"
        nodes = ", ".join(self.node_ids)
        return f"model {self.item.ref.value} ({self.item.ref.folder or '?'}, node{'s' * (len(self.same_file) > 1)} " \
               f"{nodes})"


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
    """Every missing node type and model file with a reference not decided yet, nodes first.

    A file several nodes name is one item (its first open reference that runs carries the question).
    """
    def is_open(decided: dict | None) -> bool:
        return decided is None or (include_skipped and decided.get("status") == "skipped")

    items = []
    for node in report.missing_nodes:
        if is_open(report.node_decision(node)):
            items.append(OpenItem("node", node.type, node, mark=report.node_mark(node)))
    for file in report.model_files():
        still = [m for m in file.models if is_open(report.model_decision(m))]
        if still:
            first = next((m for m in still if m.ref.mode not in MARKS), still[0])
            items.append(OpenItem("model", first.ref.key, first, tuple(still), mark=file.mark))
    return items


async def analyze_target(mend: Mend, target: WorkflowTarget, graph: Any = None, *,
                         use_registry: bool = True) -> AnalysisReport:
    """Analyse the workflow as it is now (the file, or the graph sent for an unsaved workflow)."""
    data = graph if target.file is None else await asyncio.to_thread(read_target, target)
    return await mend.analyzer.analyze(data, use_registry=use_registry, workflow_id=target.id)
