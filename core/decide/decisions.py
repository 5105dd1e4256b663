"""A ``Decision``: one answer to one question, applied and persisted at once.

A decision names a missing node type or model reference of a workflow and what to do with it:
``candidate`` k (of the current analysis), ``url`` (a model's download source pasted by the user),
``optional`` (the workflow runs without it), ``skip`` (not now; not asked again unless asked for) or
``undo`` (forget the decision: the item is open again; a widget already rewritten keeps its value).
A model source that is not Hugging Face's is asked what it would send first (``link_check``): a link
that cannot work (a login, a 404, a web page, a file of the wrong kind, no answer) is refused with its
named error and nothing is written; the answer (size, file name, ranges) comes back as ``probe``.
Applying it is one manifest write (``[tool.mend.workflows."<id>"]``) and, when the workflow is a file
and a model was resolved, the model widget rewritten to the resolved relative path (inside subgraph
definitions too), under the manifest's lock. If the workflow write fails, the manifest edit is undone:
both files are as they were before this decision, earlier decisions stay.

    d = Decision.from_json({"model": "12:5/ckpt_name", "action": "candidate", "candidate": 0})
    result = apply_decision(mend, target, report, d)    # blocking: call via asyncio.to_thread
"""

from __future__ import annotations

import asyncio
import json
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from ..atomic_files import replace_atomic
from ..catalog.huggingface import HuggingFaceSource, LookupFailed, parse_hf_url
from ..catalog.link_check import link_checker
from ..catalog.link_probe import LinkProbe
from ..catalog.source_policy import DownloadPolicy, check_relpath, target_path
from ..errors import InvalidField, InvalidWorkflow, UnknownFolder
from ..resolve.analyze import AnalysisReport
from ..resolve.models import MissingModel
from ..resolve.nodes import MissingNode
from ..resolve.report_items import file_key
from ..resolve.target import WorkflowTarget, analyze_target
from ..workflow.model_refs import ModelRef
from .existing_target import ON_EXISTING, ExistingFile, judge_existing
from .manifest import Manifest, del_op, set_op

if TYPE_CHECKING:  # the services object is passed in; only its type is named here
    from ..services import Mend

ACTIONS = ("candidate", "url", "optional", "skip", "undo")
#: the install fields a pinned node decision keeps (``POST /mend/nodes/install``'s body)
INSTALL_FIELDS = ("id", "repository", "version", "commit")


@dataclass(frozen=True)
class Decision:
    """What the user chose for one missing node type (``node_type``) or model reference (``model`` key)."""

    kind: str  # "node" | "model"
    ref: str
    action: str  # one of ACTIONS
    candidate: int | None = None
    url: str | None = None
    folder: str | None = None  # url: the model folder, when the reference's folder is unknown or wrong
    path: str | None = None  # url: the file's path inside the folder (default: the URL's file name)
    on_existing: str | None = None  # another file under the target name: keep it, rename the new one, replace

    @classmethod
    def from_json(cls, body: Any) -> Decision:
        if not isinstance(body, dict):
            raise InvalidField("a decision is a JSON object", field="$")
        has_node, has_model = "node_type" in body, "model" in body
        if has_node == has_model:
            raise InvalidField("name exactly one of node_type or model", field="node_type")
        kind, field_name = ("node", "node_type") if has_node else ("model", "model")
        ref = body[field_name]
        if not isinstance(ref, str) or not ref:
            raise InvalidField(f"{field_name} must be a non-empty string", field=field_name)
        action = body.get("action")
        if action not in ACTIONS:
            raise InvalidField(f"action must be one of {', '.join(ACTIONS)}", field="action")
        candidate = body.get("candidate")
        if action == "candidate" and (not isinstance(candidate, int) or isinstance(candidate, bool)):
            raise InvalidField("candidate must be the index of a candidate (0 is the first)", field="candidate")
        for name in ("url", "folder", "path"):
            if body.get(name) is not None and not isinstance(body[name], str):
                raise InvalidField(f"{name} must be a string", field=name)
        if action == "url" and not body.get("url"):
            raise InvalidField("paste the model's https URL in url", field="url")
        on_existing = body.get("on_existing")
        if on_existing is not None and on_existing not in ON_EXISTING:
            raise InvalidField(f"on_existing must be one of {', '.join(ON_EXISTING)}", field="on_existing")
        return cls(kind, ref, action, candidate if action == "candidate" else None,
                   body.get("url"), body.get("folder"), body.get("path"), on_existing)

    def to_json(self) -> dict:
        out = {("node_type" if self.kind == "node" else "model"): self.ref, "action": self.action}
        out.update({k: v for k, v in (("candidate", self.candidate), ("url", self.url), ("folder", self.folder),
                                      ("path", self.path), ("on_existing", self.on_existing)) if v is not None})
        return out


@dataclass
class Plan:
    """What applying a decision writes: manifest operations and, maybe, one widget value."""

    ops: list[dict]
    stored: Any  # the resolution as the manifest keeps it
    widgets: list[tuple[ModelRef, str]] = field(default_factory=list)  # model references -> new value


def plan_decision(decision: Decision, report: AnalysisReport, folders: dict[str, list[Path]],
                  workflow_id: str, policy: DownloadPolicy | None = None, *, rename_to: str | None = None) -> Plan:
    """Check the decision against the current analysis and work out what it writes (no I/O).

    A model source is checked by the downloads' own rule (``DownloadPolicy.check_source``): what a
    download would refuse is never stored as a decision. ``rename_to``: the download goes to this
    path instead (another file holds the first one).
    """
    policy = policy or DownloadPolicy.from_env()
    if decision.action == "undo":
        return Plan(_undo_ops(decision, report, workflow_id), None)
    if decision.kind == "node":
        node = next((n for n in report.missing_nodes if n.type == decision.ref), None)
        if node is None:
            raise InvalidField(f"{decision.ref!r} is not a missing node type of this workflow", field="node_type")
        stored = _node_value(decision, node)
        return Plan([set_op("workflows", workflow_id, "nodes", decision.ref, value=stored)], stored)
    model = next((m for m in report.missing_models if m.ref.key == decision.ref), None)
    if model is None:
        raise InvalidField(f"{decision.ref!r} is not a missing model reference of this workflow", field="model")
    stored = _model_value(decision, model, folders, policy)
    if rename_to is not None:
        stored = {**stored, "path": rename_to}
    elif decision.on_existing in ("keep", "replace") and stored["status"] == "pending_download":
        stored = {**stored, "on_existing": decision.on_existing}
    # one file, one answer: every reference to the same file gets it (two subgraph instances, copies)
    same_file = [m for m in report.missing_models if file_key(m) == file_key(model)]
    ops, widgets = [], []
    for m in same_file:
        ops.append(set_op("workflows", workflow_id, "models", m.ref.key, value={**stored, "value": m.ref.value}))
        if stored["status"] in ("resolved", "pending_download") and stored["path"] != m.ref.value:
            widgets.append((m.ref, stored["path"]))
    return Plan(ops, stored, widgets)


def _undo_ops(decision: Decision, report: AnalysisReport, workflow_id: str) -> list[dict]:
    """Forget a decision; for a model, the decisions of every reference to the same file (one file, one answer)."""
    if decision.kind == "node":
        return [del_op("workflows", workflow_id, "nodes", decision.ref)]
    model = next((m for m in report.missing_models if m.ref.key == decision.ref), None)
    keys = [m.ref.key for m in report.missing_models if model is not None and file_key(m) == file_key(model)]
    return [del_op("workflows", workflow_id, "models", key) for key in keys or [decision.ref]]


def apply_decision(mend: Mend, target: WorkflowTarget, report: AnalysisReport, decision: Decision,
                   manifest: Manifest | None = None) -> dict:
    """Persist one decision (blocking). Returns what was stored and whether the workflow file changed."""
    manifest = manifest or mend.manifest
    folders, policy = dict(mend.host.model_folders()), mend.extras.get("download_policy")
    plan = plan_decision(decision, report, folders, target.id, policy)
    probe = probe_source(mend, plan.stored)  # before anything is written: a refusal changes nothing
    existing = _existing_target(mend, plan.stored, folders, manifest, probe.size if probe is not None else None)
    if existing is not None and not existing.same:
        if decision.on_existing is None:
            raise existing.error(plan.stored["url"])  # asked where the user decides: keep, rename, replace
        if decision.on_existing == "rename":
            plan = plan_decision(decision, report, folders, target.id, policy, rename_to=existing.suggested)
    rewrite = None
    if plan.widgets and target.file is not None:
        file, widgets = target.file, plan.widgets
        data = json.loads(file.read_text(encoding="utf-8"))
        for ref, value in widgets:  # refuse before writing
            data = rewrite_widget(data, ref, value)

        def rewrite() -> None:  # under the manifest lock, on the file as it is now
            _rewrite_file(file, widgets)

    manifest.write(plan.ops, then=rewrite)
    result = {"decision": decision.to_json(), "workflow": target.id, "stored": plan.stored,
              "workflow_file_changed": rewrite is not None}
    if probe is not None:
        result["probe"] = probe.to_json()
    if existing is not None:
        result["existing"] = existing.to_json()
    return result


def probe_source(mend: Mend, stored: Any) -> LinkProbe | None:
    """Ask a download source what it would send (blocking, cached); raises the named error of a link that
    cannot work. None when nothing is downloaded, or the source is Hugging Face's (the hub confirms those)."""
    if not isinstance(stored, dict) or stored.get("status") != "pending_download" or not stored.get("url"):
        return None
    return link_checker(mend).check(stored["url"], stored.get("folder"))


def _existing_target(mend: Mend, stored: Any, folders: dict[str, list[Path]], manifest: Manifest,
                     size: int | None = None) -> ExistingFile | None:
    """The file already under a decided download's name, judged (``existing_target``); None if none.
    ``size``: what the link's probe said it would send."""
    if not isinstance(stored, dict) or stored.get("status") != "pending_download" or not stored.get("url"):
        return None
    final = target_path(folders, stored["folder"], stored["path"])
    if not final.exists():
        return None
    hashes = getattr(mend, "hashes", None)
    return judge_existing(final, folder=stored["folder"], relpath=stored["path"], url=stored["url"],
                          sha256=stored.get("sha256") or _hub_sha256(mend, stored["url"]), size=size,
                          models=manifest.models(), **({"digest": hashes.digest} if hashes is not None else {}))


def _hub_sha256(mend: Mend, url: str) -> str | None:
    """A Hugging Face link's LFS sha256 (``paths-info``), asked only when a file already holds its name."""
    policy = mend.extras.get("download_policy") or DownloadPolicy.from_env()
    parsed = parse_hf_url(url, policy.hf_endpoint)
    if parsed is None:
        return None
    source = mend.extras.get("hf_source") or HuggingFaceSource(policy.hf_endpoint)
    try:
        found = source.file_info(parsed[0], parsed[2], parsed[1])
    except LookupFailed:  # the hub cannot say: the user is asked
        return None
    return found.sha256 if found is not None else None


async def analyze_settled(mend: Mend, target: WorkflowTarget, graph: Any = None, *,
                          use_registry: bool = True) -> AnalysisReport:
    """``analyze_target``, after finishing the widget rewrites that a crash left undone.

    A decision is appended to the manifest's log first and the workflow file is rewritten right after;
    a process killed between the two leaves the decision stored and the file as it was. Such a file
    still holds, for a decided model, the exact value the decision was made for: that rewrite is
    done now (under the manifest lock), then the file is analysed again.
    """
    report = await analyze_target(mend, target, graph, use_registry=use_registry)
    if target.file is None or not (pending := _unwritten_widgets(report)):
        return report
    if await asyncio.to_thread(_finish_rewrites, mend.manifest, target.file, pending):
        report = await analyze_target(mend, target, graph, use_registry=use_registry)
    return report


def _unwritten_widgets(report: AnalysisReport) -> list[tuple[ModelRef, str]]:
    pending = []
    for model in report.missing_models:
        stored = report.model_decision(model) or {}
        path = stored.get("path")
        if stored.get("status") in ("resolved", "pending_download") and isinstance(path, str) \
                and path != model.ref.value and stored.get("value") == model.ref.value:
            pending.append((model.ref, path))
    return pending


def _finish_rewrites(manifest: Manifest, file: Path, pending: list[tuple[ModelRef, str]]) -> bool:
    """Apply the rewrites to the file as it is under the lock; False when none applied any more."""
    with manifest.locked():
        return _rewrite_file(file, pending, skip_gone=True)


def _rewrite_file(file: Path, widgets: list[tuple[ModelRef, str]], *, skip_gone: bool = False) -> bool:
    """Point each widget at its value in the file as it is now, each an in-place edit; False if none changed.

    A widget whose node is gone raises ``InvalidWorkflow``, or is passed over with ``skip_gone``.
    """
    original = text = file.read_text(encoding="utf-8")
    data = json.loads(text)
    for ref, value in widgets:
        try:
            data = rewrite_widget(data, ref, value)
        except InvalidWorkflow:
            if not skip_gone:
                raise
            continue
        text = _edited_text(text, ref.value, value, data)
    if text == original:
        return False
    replace_atomic(file, text)
    return True


def rewrite_widget(data: Any, ref: ModelRef, value: str) -> Any:
    """Set the model widget ``ref`` names to ``value`` in a parsed workflow (UI or API, subgraphs too)."""
    root = data["workflow"] if isinstance(data, dict) and isinstance(data.get("workflow"), dict) else data
    if isinstance(root, dict) and "nodes" in root:
        node = _ui_node(root, ref.node_id)
        widgets = node.get("widgets_values")
        if isinstance(widgets, dict) and ref.input in widgets:
            widgets[ref.input] = value
        elif isinstance(widgets, list) and ref.widget_index is not None and ref.widget_index < len(widgets):
            widgets[ref.widget_index] = value
        else:
            raise InvalidWorkflow(f"node {ref.node_id} has no widget for {ref.key}", field="model")
        return data
    prompt = root.get("prompt") if isinstance(root, dict) and isinstance(root.get("prompt"), dict) else root
    inputs = (prompt.get(ref.node_id) or {}).get("inputs") if isinstance(prompt, dict) else None
    if not isinstance(inputs, dict) or ref.input not in inputs:
        raise InvalidWorkflow(f"node {ref.node_id} has no input {ref.input!r}", field="model")
    inputs[ref.input] = value
    return data


def _ui_node(root: dict, path: str) -> dict:
    """The node at id path ``12:5``: node 5 of the subgraph definition that instance 12 uses."""
    subgraphs = _subgraph_definitions(root)
    graph = root
    *outer, last = path.split(":")
    for part in outer:
        node = _find(graph, part, path)
        if node.get("type") not in subgraphs:
            raise InvalidWorkflow(f"node {part} of {path} is no subgraph instance (group nodes are not rewritten)",
                                  field="model")
        graph = subgraphs[node["type"]]
    return _find(graph, last, path)


def _find(graph: dict, node_id: str, path: str) -> dict:
    for node in graph.get("nodes") or []:
        if isinstance(node, dict) and str(node.get("id")) == node_id:
            return node
    raise InvalidWorkflow(f"the workflow has no node {path}", field="model")


def _subgraph_definitions(graph: dict, found: dict | None = None) -> dict[str, dict]:
    found = {} if found is None else found
    definitions = graph.get("definitions")
    for sg in (definitions.get("subgraphs") or []) if isinstance(definitions, dict) else []:
        if isinstance(sg, dict) and isinstance(sg.get("id"), str) and sg["id"] not in found:
            found[sg["id"]] = sg
            _subgraph_definitions(sg, found)
    return found


def _edited_text(original: str, old: str, new: str, data: Any) -> str:
    """The original text with the one widget value replaced in place, when that is unambiguous.

    Re-serialising a large indented workflow costs milliseconds (Python's indenting encoder); when the
    old value's literal appears exactly once, replacing it keeps every other byte, and the result is
    checked to parse to exactly the rewritten document. Otherwise the whole document is serialised.
    """
    old_literal = json.dumps(old, ensure_ascii=False)
    if original.count(old_literal) == 1:
        edited = original.replace(old_literal, json.dumps(new, ensure_ascii=False))
        if json.loads(edited) == data:
            return edited
    return _dump_like(data, original)


def _dump_like(data: Any, original: str) -> str:
    """Serialise with the original's layout (indented or compact), so diffs stay small."""
    if "\n" in original.strip():
        return json.dumps(data, indent=2, ensure_ascii=False) + ("\n" if original.endswith("\n") else "")
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _node_value(decision: Decision, node: MissingNode) -> Any:
    if decision.action == "optional":
        return False
    if decision.action == "skip":
        return {"status": "skipped"}
    if decision.action == "url":
        raise InvalidField("a URL is a model's source; choose a candidate pack for a node type", field="action")
    candidate = node.candidates[_candidate_index(decision, len(node.candidates), f"node type {node.type}")]
    body = candidate.install_plan()["body"]
    ident = body.get("id") or candidate.pack.repository  # a pack without a registry id is known by its repository
    if not (body.get("version") or body.get("commit")):
        return ident
    # pinned: the manifest keeps the install the report showed, so whoever acts on it installs that version
    return {"status": "resolved", "pack": ident, **{k: body[k] for k in INSTALL_FIELDS if body.get(k)}}


def _candidate_index(decision: Decision, count: int, what: str) -> int:
    """The decision's candidate, checked (an index into the analysis's list: 0 is the first)."""
    k = decision.candidate
    if k is None or not 0 <= k < count:
        has = "has no candidates" if not count else f"has {count} candidate{'s' * (count != 1)} (0 is the first)"
        raise InvalidField(f"candidate {k} is out of range: {what} {has}", field="candidate")
    return k


def _model_value(decision: Decision, model: MissingModel, folders: dict[str, list[Path]],
                 policy: DownloadPolicy) -> dict:
    base = {"value": model.ref.value, "folder": model.ref.folder}
    if decision.action in ("optional", "skip"):
        return _no_none({**base, "status": "optional" if decision.action == "optional" else "skipped"})
    if decision.action == "url":
        return _no_none({**base, **_url_source(decision, model, folders, policy)})
    k = _candidate_index(decision, len(model.candidates), f"model reference {decision.ref}")
    c = model.candidates[k]
    folder = c.folder or model.ref.folder
    if folder not in folders:
        raise UnknownFolder(f"{folder!r} is not a model folder of this ComfyUI", field="folder")
    status = "resolved" if c.kind == "local" else "pending_download"
    if status == "pending_download":
        policy.check_source(folders, folder, c.relpath, c.url)
    return _no_none({**base, "folder": folder, "path": check_relpath(c.relpath, "path"), "status": status,
                     "url": c.url, "sha256": c.sha256, "source": c.source})


def _url_source(decision: Decision, model: MissingModel, folders: dict[str, list[Path]],
                policy: DownloadPolicy) -> dict:
    url = policy.check_url(decision.url)
    folder = decision.folder or model.ref.folder
    if folder is None:
        raise InvalidField("the reference's model folder is unknown: name it in folder", field="folder")
    if folder not in folders:
        raise UnknownFolder(f"{folder!r} is not a model folder of this ComfyUI", field="folder")
    name = posixpath.basename(unquote(urlsplit(url).path))
    path = decision.path or (name if "." in name else model.ref.value.replace("\\", "/").rsplit("/", 1)[-1])
    path = check_relpath(path, "path")
    policy.check_source(folders, folder, path, url)
    return {"folder": folder, "path": path, "status": "pending_download", "url": url, "source": "url"}


def _no_none(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if v is not None}
