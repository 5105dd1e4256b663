"""``mend check WORKFLOW --comfyui DIR``: what the workflow lacks, as a table or ``--json``.

Exit codes: 0 nothing missing, 1 something is missing, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..core.analyze import AnalysisReport
from .common import add_comfyui_options, build_mend, read_json_file


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="list what a workflow is missing and where it can come from")
    p.add_argument("workflow", type=Path, help="a workflow JSON file (UI or API format)")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    add_comfyui_options(p)


async def run(args: argparse.Namespace) -> int:
    data = read_json_file(args.workflow)
    mend = build_mend(args)
    await mend.catalogs.refresh()
    report = await mend.analyzer.analyze(data, use_registry=not args.no_registry)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        print(render_table(report))
    return 1 if report.missing_nodes or report.missing_models else 0


def render_table(report: AnalysisReport) -> str:
    lines = []
    if report.missing_nodes:
        lines.append(f"Missing node types ({len(report.missing_nodes)})")
        rows = [("TYPE", "NODES", "STATUS", "TOP CANDIDATE", "WHY")]
        for n in report.missing_nodes:
            top = n.candidates[0] if n.candidates else None
            rows.append((
                n.type + (" (muted)" if n.inactive else ""),
                ",".join(n.node_ids[:4]) + ("…" if len(n.node_ids) > 4 else ""),
                n.status,
                (top.pack.title + (f" @ {top.version}" if top.version else "")) if top else "-",
                top.explain() if top else "no known pack",
            ))
        lines += _table(rows)
    if report.missing_models:
        lines.append(f"Missing models ({len(report.missing_models)})")
        rows = [("FILE", "FOLDER", "NODE", "STATUS", "TOP CANDIDATE")]
        for m in report.missing_models:
            top = m.candidates[0] if m.candidates else None
            where = (top.path or top.url or "") if top else "no known source"
            rows.append((m.ref.value, m.ref.folder or "?", f"{m.ref.node_id} {m.ref.node_type}", m.status,
                         f"{top.reason}: {where}" if top else where))
        lines += _table(rows)
    if not lines:
        lines.append(
            f"Nothing missing: {len(report.workflow.nodes)} nodes, {len(report.present_models)} models present."
        )
    return "\n".join(lines)


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [min(max(len(r[i]) for r in rows), 60) for i in range(len(rows[0]) - 1)]
    out = []
    for r in rows:
        cells = [c[:60].ljust(w) for c, w in zip(r[:-1], widths, strict=True)]
        out.append("  " + "  ".join([*cells, r[-1]]))
    out.append("")
    return out
