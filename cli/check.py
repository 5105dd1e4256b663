"""``mend check WORKFLOW [--comfyui DIR]``: what the workflow lacks, as a table or ``--json``.

Without ``--comfyui`` it checks against an empty ComfyUI layout (everything the workflow needs is
listed). With a manifest (``--manifest``, or the ComfyUI's own when it exists) the decisions made for
the workflow are shown. Exit codes: 0 nothing blocking is missing, 1 something a run needs is missing
(or undecided, or a catalog needed to tell could not be loaded), 2 bad input (a corrupt or absent
``--manifest`` included).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from pathlib import Path

from ..core.errors import NotFound
from ..core.resolve.analyze import AnalysisReport
from ..core.resolve.models import MissingModel
from ..core.resolve.nodes import MissingNode
from ..core.resolve.report_items import MARKS
from ..core.resolve.target import target_from_cli
from ..core.services import Mend
from . import table
from .common import add_comfyui_options, build_mend, read_workflow_file

_COMMIT = re.compile(r"[0-9a-f]{40}")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="list what a workflow is missing and where it can come from")
    p.add_argument("workflow", type=Path, help="a workflow JSON file (UI or API format), or a PNG, WEBP, FLAC, MP3, "
                   "Opus, MP4 or WEBM file ComfyUI saved with the workflow inside")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.add_argument("--wide", action="store_true", help="never cut a name in the tables (long names are cut with …)")
    add_comfyui_options(p, comfyui_required=False)


async def run(args: argparse.Namespace) -> int:
    data = read_workflow_file(args.workflow)
    mend = build_mend(args)
    workflow_id = await asyncio.to_thread(_decisions_of, mend, args)
    await mend.catalogs.refresh()
    report = await mend.analyzer.analyze(data, use_registry=not args.no_registry, workflow_id=workflow_id)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        print(render_table(report, wide=args.wide))
    return 1 if report.blocking or report.catalogs_missing else 0


def _decisions_of(mend: Mend, args: argparse.Namespace) -> str | None:
    """The workflow's id in the manifest when there is one to read (``--manifest`` must exist and parse):
    the report then shows what ``mend resolve`` or the panel decided. Read only, nothing is written."""
    path = mend.manifest_path
    if not path.is_file():
        if args.manifest is not None:
            raise NotFound(f"no manifest at {path}", field="--manifest")
        return None
    workflow_id = target_from_cli(mend.host, args.workflow).id
    mend.manifest.resolutions(workflow_id)  # a corrupt manifest is refused here (ManifestCorrupt, exit 2)
    return workflow_id


def _status(item: MissingNode | MissingModel, decision: dict | None) -> str:
    return f"decided: {decision.get('status')}" if decision else item.status


def render_table(report: AnalysisReport, *, wide: bool = False) -> str:
    """Warnings, missing node types, then missing model files (one row per file, every node that names it);
    ``wide``: no cell is cut."""
    lines = render_warnings(report)
    width = None if wide else table.COLUMN_MAX
    cut = False
    if report.missing_nodes:
        blocking = sum(report.node_blocks(n) for n in report.missing_nodes)
        lines.append(f"Missing node types ({len(report.missing_nodes)}, {blocking} blocking)")
        rows = [("TYPE", "NODE IDS", "STATUS", "TOP CANDIDATE", "WHY")]
        for n in report.missing_nodes:
            top = n.candidates[0] if n.candidates else None
            rows.append((
                n.type + _marked(report.node_mark(n)),
                _ids(list(dict.fromkeys(n.node_ids))),
                _status(n, report.node_decision(n)),
                top.pack.title + _version(top.install_version, wide=wide) if top else "-",
                top.explain() if top else n.note or "no known pack",
            ))
        lines += table.render(rows, width)
        cut = cut or _cut(rows, width)
    files = report.model_files()
    if files:
        blocking = sum(f.blocking(report.model_decision) for f in files)
        refs = sum(len(f.models) for f in files)
        lines.append(f"Missing model files ({len(files)} used by {refs} nodes, {blocking} blocking)")
        rows = [("FILE", "NODE IDS, TYPE", "STATUS", "TOP CANDIDATE")]
        for f in files:
            m = f.primary
            top = m.candidates[0] if m.candidates else None
            where = (top.path or top.url or "") if top else "no known source"
            nodes = _ids(_node_refs(f.models)) + f" {m.ref.node_type}"
            status = "fetched by pack" if f.fetched_by_pack else _status(m, report.model_decision(m)) + (
                " (folder guessed)" if f.folder_guessed and m.ref.folder else "")
            rows.append((f.key + _marked(f.mark), nodes, status, f"{top.reason}: {where}" if top else
                         "the pack downloads it on first use" if f.fetched_by_pack else where))
        lines += table.render(rows, width)
        cut = cut or _cut(rows, width)
        lines += _folder_legend(files)
    if cut:
        lines += [f"  {table.MARK} = cut to fit; mend check --wide shows every name whole (--json too)", ""]
    if report.missing_nodes or files:
        lines.append(f"{report.blocking} blocking: a run of this workflow fails until "
                     + ("they are" if report.blocking != 1 else "it is") + " resolved (mend resolve)"
                     if report.blocking else
                     "nothing blocking: only muted/bypassed nodes or optional items lack something")
    else:
        lines.append(
            f"Nothing missing: {len(report.workflow.nodes)} nodes, {len(report.present_models)} models present."
        )
    return "\n".join(lines)


def render_warnings(report: AnalysisReport) -> list[str]:
    """Per warning: whether the user must act and what it means for them, then Mend's detail (code, node)."""
    if not report.warnings:
        return []
    acts = sum(w.must_act for w in report.warnings)
    lines = [f"Warnings ({len(report.warnings)}, " + (f"{acts} for you to act on)" if acts else "nothing to do)")]
    for w in report.warnings:
        lines.append(f"  {'act: ' if w.must_act else 'note:'} {w.advice}")
        lines.append(f"         {w.code}" + (f" (node {w.node_id})" if w.node_id else "") + f": {w.message}")
    return [*lines, ""]


def _folder_legend(files: list) -> list[str]:
    """Say what ``?/`` and ``(folder guessed)`` mean, once, when a row shows one."""
    out = []
    if any(f.primary.ref.folder is None and not f.fetched_by_pack for f in files):
        out.append("  ?/ = folder unknown: no schema, table or catalog names it; pick one (mend resolve asks,"
                   " the panel offers ComfyUI's folders)")
    if any(f.folder_guessed and f.primary.ref.folder and not f.fetched_by_pack for f in files):
        out.append("  (folder guessed) = the folder comes from the node's or the file's name, not from the loader"
                   " itself: check it")
    return [*out, ""] if out else []


def _marked(mark: str | None) -> str:
    return f" ({mark})" if mark else ""


def _ids(ids: list[str]) -> str:
    return ",".join(ids[:4]) + (f",… ({len(ids)} in all)" if len(ids) > 4 else "")


def _node_refs(models: list[MissingModel]) -> list[str]:
    """One entry per node: its id, the inputs naming the file when it names it more than once
    (``530 (model, vitpose_model)``), and ``(bypassed)``/``(muted)``."""
    inputs: dict[str, list[str]] = {}
    modes: dict[str, int] = {}
    for m in models:
        inputs.setdefault(m.ref.node_id, []).append(m.ref.input or f"#{m.ref.widget_index}")
        modes[m.ref.node_id] = m.ref.mode
    return [node_id + _inputs(names) + _marked(MARKS.get(modes[node_id])) for node_id, names in inputs.items()]


def _inputs(names: list[str]) -> str:
    """`` (model, vitpose_model)``, or `` (widgets #0, #1)`` for a loader whose schema is not known yet."""
    if len(names) < 2:
        return ""
    return f" ({'widgets ' if all(n.startswith('#') for n in names) else ''}{', '.join(names)})"


def _version(version: str | None, *, wide: bool) -> str:
    """`` @ 1.3.1``, or a commit as git shows it short (12 characters), whole with ``wide``."""
    if not version:
        return ""
    return f" @ {version if wide or not _COMMIT.fullmatch(version) else version[:12]}"


def _cut(rows: list[tuple[str, ...]], width: int | None) -> bool:
    """Whether ``table.render`` cut a cell of these rows."""
    return width is not None and any(table.display_width(c) > width for r in rows for c in r[:-1])
