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
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BadRequest, InvalidField, InvalidJSON, NotFound, UnsafePath
from ..host import Host
from ..json_input import loads_checked
from .analyze import AnalysisReport
from .models import MissingModel
from .nodes import MissingNode
from .report_items import MARKS

if TYPE_CHECKING:  # the services object is passed in; only its type is named here
    from ..services import Mend

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


#: a workflow id longer than this (or a part longer than a file name may be) cannot name a file
MAX_ID_LENGTH = 1024
MAX_NAME_BYTES = 255


def canonical_id(ident: object) -> str:
    """One spelling per workflow: surrounding blanks dropped, ``./`` and ``//`` folded, a uuid lower-cased.

    ``./kf.json``, ``kf.json`` and ``kf.json`` with a trailing newline are one workflow, so its decisions
    are kept once.
    """
    if not isinstance(ident, str) or not ident.strip():
        raise InvalidField("workflow must be a workflow file path or the graph's id", field="workflow")
    ident = ident.strip()
    if not ident.isascii() and not _is_text(ident):
        raise InvalidField("workflow holds a lone surrogate, which is not text", field="workflow")
    if len(ident) > MAX_ID_LENGTH:
        raise InvalidField(f"workflow id is {len(ident)} characters long; at most {MAX_ID_LENGTH}", field="workflow")
    if UUID.fullmatch(ident):
        return ident.lower()
    if "\0" in ident or "\\" in ident or ident.startswith("/") or (len(ident) > 1 and ident[1] == ":"):
        raise UnsafePath(f"workflow {ident!r} must be relative to the workflows folder", field="workflow")
    if any(p == ".." for p in ident.split("/")) or not ident.endswith(".json"):
        raise UnsafePath(f"workflow {ident!r} must be a .json path inside the workflows folder", field="workflow")
    ident = posixpath.normpath(ident)
    if any(len(p.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES for p in ident.split("/")):
        raise InvalidField(f"workflow {ident[:80]!r}...: a part is longer than a file name may be", field="workflow")
    return ident


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def target_from_request(host: Host, ident: object) -> WorkflowTarget:
    """An id from a request: a uuid (unsaved graph) or a path inside the workflows folder that exists."""
    ident = canonical_id(ident)
    if UUID.fullmatch(ident):
        return WorkflowTarget(id=ident)
    root = workflows_dir(host).resolve()
    try:
        file = (root / ident).resolve()
        found = file.is_file()
    except OSError as exc:  # a name the file system refuses (too long, invalid): there is no such file
        raise NotFound(f"no workflow {ident[:80]!r} in {root} ({exc.strerror})", field="workflow") from exc
    if root not in file.parents:
        raise UnsafePath(f"workflow {ident!r} leaves the workflows folder", field="workflow")
    if not found:
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
        text = target.file.read_text(encoding="utf-8")
    except OSError as exc:
        raise NotFound(f"cannot read {target.file}: {exc.strerror}", field="workflow") from exc
    except ValueError as exc:
        raise InvalidJSON(f"{target.file} is not valid UTF-8: {exc}", field="workflow") from exc
    return loads_checked(text, str(target.file), field="workflow")


def graph_id(graph: Any) -> str:
    """The top-level id of an unsaved UI graph."""
    ident = graph.get("id") if isinstance(graph, dict) else None
    if not isinstance(ident, str) or not UUID.fullmatch(ident.strip()):
        raise InvalidField("an unsaved graph needs its top-level \"id\" (a uuid)", field="graph.id")
    return ident.strip().lower()


def open_items(report: AnalysisReport, *, include_skipped: bool = False) -> list[OpenItem]:
    """Every missing node type and model file with a reference not decided yet, nodes first.

    A file several nodes name is one item (its first open reference that runs carries the question); a file
    the loader's pack downloads on first use (``fetched_by_pack``) is nobody's question.
    """
    def is_open(decided: dict | None) -> bool:
        return decided is None or (include_skipped and decided.get("status") == "skipped")

    items = []
    for node in report.missing_nodes:
        if is_open(report.node_decision(node)):
            items.append(OpenItem("node", node.type, node, mark=report.node_mark(node)))
    for file in report.model_files():
        if file.fetched_by_pack:
            continue
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
