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
from pathlib import Path

from ..core.errors import NotFound
from ..core.resolve.analyze import AnalysisReport
from ..core.resolve.models import MissingModel
from ..core.resolve.nodes import MissingNode
from ..core.resolve.report_items import MARKS
from ..core.resolve.target import target_from_cli
from ..core.services import Mend
from .common import add_comfyui_options, build_mend, read_workflow_file


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="list what a workflow is missing and where it can come from")
    p.add_argument("workflow", type=Path, help="a workflow JSON file (UI or API format), or a PNG, WEBP, FLAC, MP3, "
                   "Opus, MP4 or WEBM file ComfyUI saved with the workflow inside")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
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
        print(render_table(report))
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


def render_table(report: AnalysisReport) -> str:
    """Warnings, missing node types, then missing model files (one row per file, every node that names it)."""
    lines = render_warnings(report)
    if report.missing_nodes:
        blocking = sum(report.node_blocks(n) for n in report.missing_nodes)
        lines.append(f"Missing node types ({len(report.missing_nodes)}, {blocking} blocking)")
        rows = [("TYPE", "NODES", "STATUS", "TOP CANDIDATE", "WHY")]
        for n in report.missing_nodes:
            top = n.candidates[0] if n.candidates else None
            rows.append((
                n.type + _marked(report.node_mark(n)),
                _ids(n.node_ids),
                _status(n, report.node_decision(n)),
                (top.pack.title + (f" @ {top.version}" if top.version else "")) if top else "-",
                top.explain() if top else n.note or "no known pack",
            ))
        lines += _table(rows)
    files = report.model_files()
    if files:
        blocking = sum(f.blocking(report.model_decision) for f in files)
        refs = sum(len(f.models) for f in files)
        lines.append(f"Missing model files ({len(files)} used by {refs} nodes, {blocking} blocking)")
        rows = [("FILE", "NODES", "STATUS", "TOP CANDIDATE")]
        for f in files:
            m = f.primary
            top = m.candidates[0] if m.candidates else None
            where = (top.path or top.url or "") if top else "no known source"
            nodes = _ids([x.ref.node_id + _marked(MARKS.get(x.ref.mode)) for x in f.models]) + f" {m.ref.node_type}"
            status = "fetched by pack" if f.fetched_by_pack else _status(m, report.model_decision(m)) + (
                " (folder guessed)" if f.folder_guessed and m.ref.folder else "")
            rows.append((f.key + _marked(f.mark), nodes, status, f"{top.reason}: {where}" if top else
                         "the pack downloads it on first use" if f.fetched_by_pack else where))
        lines += _table(rows)
        lines += _folder_legend(files)
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
    """One line per warning (what was read past or not trusted), the node named when one is meant."""
    if not report.warnings:
        return []
    lines = [f"Warnings ({len(report.warnings)})"]
    lines += [f"  {w.code}" + (f" (node {w.node_id})" if w.node_id else "") + f": {w.message}"
              for w in report.warnings]
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
    return ",".join(ids[:4]) + ("…" if len(ids) > 4 else "")


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [min(max(len(r[i]) for r in rows), 60) for i in range(len(rows[0]) - 1)]
    out = []
    for r in rows:
        cells = [c[:60].ljust(w) for c, w in zip(r[:-1], widths, strict=True)]
        out.append("  " + "  ".join([*cells, r[-1]]))
    out.append("")
    return out
