"""Model rows of ``mend check`` over real workflows, as counts and as a diffable dump: prints, never asserts.

A row is one missing model *file* (``AnalysisReport.model_files``), analysed as ``mend check`` does on an
empty ComfyUI (core schemas only, the shared catalogs, no registry). For each set it prints rows,
blocking rows, rows whose folder is unknown (``?/``), rows whose folder is a guess from a name (the node's
or the file's), and rows a pack fetches itself on first use (not counted as ``?/``: nobody picks their
folder). ``--dump FILE`` writes one line per row (workflow, file,
folder source, status, blocking, node types) so two runs can be compared with ``diff``.

    python bench/model_rows.py [--shared ../shared] [--eval /work/eval/wf] [--dump rows.tsv]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path

from mend.core.catalog.registry import RegistryClient
from mend.core.catalog.store import CatalogStore
from mend.core.errors import MendError
from mend.core.host_standalone import StandaloneHost
from mend.core.services import Mend

HERE = Path(__file__).resolve().parent


def workflow_files(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.glob("*.json")) if not p.name.startswith(("index", "fuse_options"))]


def rows_of(mend: Mend, path: Path) -> list[dict] | None:
    """The report's model rows for one workflow, or None when the file is refused as bad input."""
    try:
        report = mend.analyzer.analyze_sync(json.loads(path.read_text(encoding="utf-8")))
    except (MendError, ValueError):
        return None
    out = []
    for f in report.model_files():
        ref = f.primary.ref
        out.append({"file": f.key, "source": ref.folder_source, "status": f.primary.status,
                    "blocking": f.blocking(report.model_decision),
                    "fetched_by_pack": bool(getattr(f, "fetched_by_pack", False)),
                    "nodes": sorted({m.ref.node_type for m in f.models})})
    return out


def figures(name: str, rows: dict[str, list[dict] | None]) -> Counter:
    count: Counter = Counter(workflows=len(rows), refused=sum(r is None for r in rows.values()))
    for key in ("rows", "blocking", "unknown folder (?/)", "guessed folder", "fetched by pack"):
        count[key] = 0  # printed in this order, zeros included
    for found in rows.values():
        for row in found or []:
            count["rows"] += 1
            count["blocking"] += row["blocking"]
            count["unknown folder (?/)"] += row["file"].startswith("?/") and not row["fetched_by_pack"]
            count["guessed folder"] += row["source"] in ("node_hint", "guess")
            count["fetched by pack"] += row["fetched_by_pack"]
    print(f"{name:<24}" + "  ".join(f"{k}: {v}" for k, v in count.items()))
    return count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared")
    parser.add_argument("--eval", type=Path, default=Path("/work/eval/wf"))
    parser.add_argument("--dump", type=Path, help="write one line per row here, for diff")
    args = parser.parse_args()
    sets = {"templates": args.shared / "corpus" / "templates",
            "user workflows": args.shared / "corpus" / "user-workflows" / "wf", "eval": args.eval}
    dump: list[str] = []
    total: Counter = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "empty").mkdir()
        mend = Mend.create(StandaloneHost(Path(tmp) / "empty"),
                           catalogs=CatalogStore(catalog_dir=args.shared / "catalog"),
                           registry=RegistryClient(""), cache_dir=Path(tmp) / "cache")
        for name, folder in sets.items():
            if not folder.is_dir():
                print(f"{name:<24}{folder} is absent")
                continue
            rows = {p.name: rows_of(mend, p) for p in workflow_files(folder)}
            total.update(figures(name, rows))
            for wf, found in rows.items():
                for row in found or []:
                    dump.append("\t".join([name, wf, row["file"], row["source"], row["status"],
                                           "blocking" if row["blocking"] else "-",
                                           "fetched_by_pack" if row["fetched_by_pack"] else "-",
                                           ",".join(row["nodes"])]))
    print(f"{'all':<24}" + "  ".join(f"{k}: {v}" for k, v in total.items()))
    if args.dump:
        args.dump.write_text("\n".join(dump) + "\n", encoding="utf-8")
        print(f"{len(dump)} rows -> {args.dump}")


if __name__ == "__main__":
    main()
