"""Ranking quality on example workflows of public node packs: prints, never asserts (``bench/ranking.py`` runs it too).

    python bench/ranking_examples.py [EVAL_DIR] [--catalog ../shared/catalog] [--errors 30]

EVAL_DIR (default ``/opt/mend-eval``) holds example workflows taken from public node packs; it is
never part of the repository. Its ``index.json`` (a list of {repo, path, commit, file}), else
``bench/ranking_cases.json`` shipped here (repo -> commit and paths; no contents), lists the cases:
``repo`` is the pack the workflow ships in, ``path``/``commit`` where it lies in that repo, ``file`` the
workflow JSON under EVAL_DIR (a PNG's embedded workflow is stored extracted, see ``case_file``).

Truth: every node type of a workflow that its own pack's node list (Manager's map) contains
(or that its ``nodename_pattern`` matches) belongs to that pack. ``cnr_id``/``aux_id``/``ver`` are
stripped first, so only the catalogs speak.
Printed: top-1 accuracy over all such (workflow, type) pairs and over the ambiguous ones (more than
one candidate pack), the same per distinct (pack, type) and over separable cases, and the baseline
"first pack in the map that lists the type" (the map's keys are sorted by URL, so copies often come
first). Bar: 98% overall, 90% ambiguous.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import time
from collections import Counter
from pathlib import Path

from mend.core.catalog.node_map import NodeMap
from mend.core.catalog.store import CatalogStore
from mend.core.errors import MendError
from mend.core.resolve.nodes import resolve_missing
from mend.core.workflow.reader import read_workflow

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"


@dataclasses.dataclass
class Tally:
    """Top-1 hits over all evaluated types and over the ambiguous ones."""

    total: int = 0
    right: int = 0
    amb_total: int = 0
    amb_right: int = 0

    def add(self, right: bool, ambiguous: bool) -> None:
        self.total += 1
        self.right += right
        if ambiguous:
            self.amb_total += 1
            self.amb_right += right

    def line(self, label: str) -> str:
        def pct(a: int, b: int) -> str:
            return f"{100 * a / b:6.2f}% ({a}/{b})" if b else "   n/a"

        return f"{label:<34} overall {pct(self.right, self.total)}   ambiguous {pct(self.amb_right, self.amb_total)}"


def load_cases(eval_dir: Path) -> list[dict]:
    """EVAL_DIR/index.json when present, else the shipped list (files laid out as ``case_file`` says)."""
    own = eval_dir / "index.json"
    if own.is_file():
        return json.loads(own.read_text())
    shipped = json.loads((HERE / "ranking_cases.json").read_text())["repos"]
    return [{"repo": repo, "path": path, "commit": info["commit"], "file": case_file(repo, path)}
            for repo, info in shipped.items() for path in info["paths"]]


def case_file(repo: str, path: str) -> str:
    """Where a case lies under EVAL_DIR: ``workflows/<owner>+<repo>/<path, / as __>`` (+ ``.json`` for a PNG)."""
    owner, name = repo.rstrip("/").split("/")[-2:]
    return f"workflows/{owner}+{name}/{path.replace('/', '__')}" + (".json" if path.lower().endswith(".png") else "")


def core_types(node_map: NodeMap) -> set[str]:
    """What a bare ComfyUI has: the map's core entry plus a recorded object_info when the corpus is there."""
    types = node_map.core_types()
    info = SHARED / "corpus" / "object_info-comfyui-0.8.0.json"
    if info.is_file():
        types |= set(json.loads(info.read_text()))
    return types


def first_in_map(raw_map: dict) -> dict[str, str]:
    """Baseline: the first map key (in file order) that lists each type."""
    first: dict[str, str] = {}
    for url, value in raw_map.items():
        if isinstance(value, list) and value:
            for name in value[0]:
                first.setdefault(name, url)
    return first


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("eval_dir", nargs="?", type=Path, default=Path("/opt/mend-eval"))
    ap.add_argument("--catalog", type=Path, default=SHARED / "catalog")
    ap.add_argument("--errors", type=int, default=0, help="print up to N wrong top-1 picks")
    args = ap.parse_args()
    if not args.eval_dir.is_dir():
        print(f"ranking bench skipped: evaluation folder {args.eval_dir} is absent")
        return 0
    if not (args.catalog / "extension-node-map.json").is_file():
        print(f"ranking bench skipped: no catalogs in {args.catalog}")
        return 0

    started = time.perf_counter()
    node_map = CatalogStore(catalog_dir=args.catalog).node_map()
    load_ms = (time.perf_counter() - started) * 1000
    raw_map = json.loads((args.catalog / "extension-node-map.json").read_text())
    baseline_first = first_in_map(raw_map)
    installed = core_types(node_map)

    ours, baseline, ours_distinct, separable = Tally(), Tally(), Tally(), Tally()
    seen_files: set[str] = set()
    seen_pairs: set[tuple[str, str]] = set()
    per_pack: Counter[str] = Counter()
    errors: list[str] = []
    workflows = skipped = 0
    for case in load_cases(args.eval_dir):
        path = args.eval_dir / case["file"]
        if not path.is_file():
            skipped += 1
            continue
        raw = path.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        truth = node_map.pack_by_url(case["repo"])
        if digest in seen_files or truth is None:
            skipped += 1
            continue
        seen_files.add(digest)
        try:
            nodes = read_workflow(json.loads(raw)).nodes
        except (MendError, ValueError):
            skipped += 1
            continue
        nodes = [dataclasses.replace(n, cnr_id=None, aux_id=None, ver=None) for n in nodes]
        missing, _ = resolve_missing(nodes, installed, node_map, set())
        evaluated = [t for t in missing if t in truth.node_types or (truth.pattern and truth.pattern.search(t))]
        if not evaluated:
            continue
        workflows += 1
        for node_type in evaluated:
            entry = missing[node_type]
            top = entry.candidates[0].pack if entry.candidates else None
            right = top is truth
            ambiguous = len(entry.candidates) > 1
            ours.add(right, ambiguous)
            base = node_map.pack_by_url(baseline_first.get(node_type, ""))
            baseline.add(base is truth, ambiguous)
            # A fork whose example uses only nodes the pack it forked also lists cannot be told apart from
            # that pack by the workflow: count those apart (the older, more-starred pack is then the pick).
            top_covers = {t for t, e in missing.items() if top in {c.pack for c in e.candidates}}
            truth_covers = {t for t, e in missing.items() if truth in {c.pack for c in e.candidates}}
            if right or not truth_covers <= top_covers:
                separable.add(right, ambiguous)
            if (truth.repository, node_type) not in seen_pairs:
                seen_pairs.add((truth.repository, node_type))
                ours_distinct.add(right, ambiguous)
            per_pack[truth.repository] += 1
            if not right and len(errors) < args.errors:
                why = " | ".join(f"{c.pack.repository.removeprefix('https://github.com/')}: {c.explain()}"
                                 for c in entry.candidates[:3])
                errors.append(f"{case['repo'].removeprefix('https://github.com/')} {node_type!r}: {why}")

    print(f"evaluation set: {workflows} workflows from {len(per_pack)} packs, {ours.total} (workflow, type) pairs, "
          f"{ours_distinct.total} distinct (pack, type); {skipped} cases skipped (absent, duplicate or unknown pack)")
    print(f"node map cold load (with catalog parsing): {load_ms:.0f} ms")
    print(baseline.line("baseline: first pack in the map"))
    print(ours.line("rank_candidates (top-1)"))
    print(ours_distinct.line("rank_candidates, distinct types"))
    print(separable.line("rank_candidates, separable cases"))
    print(f"  ({ours.total - separable.total} pairs left out of the last line: the top pick provides every missing type"
          " the workflow's own pack provides, e.g. a fork's example that uses only nodes of the pack it forked)")
    for line in errors:
        print("  wrong:", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
