"""Right pack on workflows users really share: prints, never asserts.

    python bench/ranking.py [--shared ../shared] [--collections bench/user_collections.tsv] [--misses 40]
                            [--examples EVAL_DIR] [--catalog-dir DIR] [--registry URL]

Cases: ``corpus/user-workflows`` of the shared folder (66 workflows from six public collections, exactly
as published, with ``labels.tsv``: the pack each labelled node type belongs to, derived from its stamps),
plus the collections listed in ``bench/user_collections.tsv`` (repo, path, commit; read from fetched
snapshots, never committed here, labelled from their stamps the same way: see ``ranking_labels``).
A row is one (workflow, labelled node type). Printed, stamps stripped first (only Mend's own evidence):
workflows refused (their rows all count as wrong), top-1 strict (same owner/repo), top-1 counting a
same-code fork or rename (same repository name under another owner; each such pair is listed), the
precision of ``auto`` and wrong ``auto`` picks as a share of all rows; then the same with stamps kept;
then every miss grouped by class. Rows whose type the bare ComfyUI has (class "not missing") stay in every
denominator; beside the headline a second figure counts only the rows that are actually missing and says
how many were set aside. The pack-example cases (``ranking_examples``) follow when present.

``--catalog-dir`` reads the catalogs from a folder in Mend's ``--catalog-dir`` layout (Manager's other
channels under ``node_db/<channel>/``) instead of the shared folder's; ``--registry URL`` asks that Comfy
Registry's node look-up for types no catalog lists, as analysis does (``core/resolve/registry_hits``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

from ranking_labels import Case, load_collections, load_shared_cases

from mend.core.catalog.channels import dev_pack
from mend.core.catalog.node_map import NodeMap, Pack
from mend.core.catalog.registry import RegistryClient
from mend.core.catalog.store import CatalogStore
from mend.core.errors import MendError
from mend.core.resolve.nodes import MissingNode, resolve_missing
from mend.core.resolve.registry_hits import RegistryHits
from mend.core.workflow.reader import read_workflow

HERE = Path(__file__).resolve().parent
SHARED_DEFAULTS = (HERE.parent.parent / "shared", HERE.parent.parent.parent / "shared")
NOT_MISSING = "not missing (the bare ComfyUI has the type)"
#: node types no catalog placed -> the registry's pack for each (``registry_lookup``)
Lookup = Callable[[list[str], NodeMap], dict[str, Pack]]


@dataclasses.dataclass
class Outcome:
    """Tallies of one pass (stamps stripped or kept) over every row."""

    rows: int = 0
    strict: int = 0
    fork: int = 0  # right only when a same-name fork/rename counts
    auto: int = 0
    auto_wrong: int = 0
    auto_wrong_not_fork: int = 0  # wrong auto even when a same-name fork/rename counts as right
    refused_workflows: int = 0
    present: int = 0  # rows whose type the bare ComfyUI has: nothing is missing, no pack is named
    misses: dict[str, list[str]] = dataclasses.field(default_factory=lambda: defaultdict(list))
    forks: Counter = dataclasses.field(default_factory=Counter)
    moved: Counter = dataclasses.field(default_factory=Counter)  # strict only by a former URL the catalog records
    replaced: Counter = dataclasses.field(default_factory=Counter)  # strict only as a deprecated pack's replacement

    def print(self, label: str) -> None:
        def pct(a: int, b: int) -> str:
            return f"{100 * a / b:6.2f}% ({a}/{b})" if b else "   n/a"

        print(f"{label}")
        print(f"  workflows refused                 {self.refused_workflows}")
        print(f"  top-1 strict (same owner/repo)    {pct(self.strict, self.rows)}")
        if self.present:
            print(f"    rows actually missing           {pct(self.strict, self.rows - self.present)}: {self.present}"
                  f" rows set aside, their type is in the bare ComfyUI (no pack is missing; kept in every figure)")
        print(f"  top-1 counting forks/renames      {pct(self.strict + self.fork, self.rows)}")
        print(f"  auto precision                    {pct(self.auto - self.auto_wrong, self.auto)}")
        print(f"  wrong auto, share of all rows     {pct(self.auto_wrong, self.rows)}")
        print(f"  wrong auto, forks counted right   {pct(self.auto_wrong_not_fork, self.rows)}")
        for (truth, pick), n in self.moved.most_common():
            print(f"    counted as strict (the catalog records {truth} as this pack's former repository): {pick}"
                  f" ({n} rows)")
        for (truth, pick), n in self.replaced.most_common():
            print(f"    counted as strict (ComfyUI-Manager's legacy channel lists {truth} as deprecated, replaced by"
                  f" this pack): {pick} ({n} rows)")
        for (truth, pick), n in self.forks.most_common():
            print(f"    counted as fork/rename (same repository name; same code not checked): {pick} for {truth}"
                  f" ({n} rows)")


def repo_of(pack: Pack) -> str:
    return pack.repository.removeprefix("https://github.com/")


def is_pack(pack: Pack, truth: str) -> bool:
    url = f"https://github.com/{truth}"
    return pack.repository == url or url in pack.aliases


def replaces(pack: Pack, truth: str) -> bool:
    """The pack replaces the deprecated pack the stamp names (``core/catalog/channels``)."""
    return f"https://github.com/{truth}" in pack.replaces


def same_name_other_owner(pack: Pack, truth: str) -> bool:
    return pack.repository.startswith("https://github.com/") and pack.repo_name == truth.rsplit("/", 1)[-1]


def miss_class(entry: MissingNode | None, truth: str, node_map: NodeMap) -> str:
    """Why the top pick is not the truth, in words that name a class of cause, not an example."""
    if entry is None:
        return NOT_MISSING
    if not entry.candidates:
        return "no candidate (type unknown to the map, no stamp)"
    top = entry.candidates[0]
    rank = next((i for i, c in enumerate(entry.candidates) if is_pack(c.pack, truth)), None)
    if rank is None:
        url = f"https://github.com/{truth}"
        truth_pack = node_map.pack_by_url(url)
        if truth_pack is None or not is_pack(truth_pack, truth):
            listed = dev_pack(node_map, url) or node_map.legacy.get(url.lower())
            return f"truth only in the {listed.channel} channel" if listed else "truth not in the catalogs"
        return "truth in the catalogs but not a candidate (map does not list the type there)"
    if top.pack.copy_of is not None and is_pack(top.pack.copy_of, truth):
        return f"a copy beat its original ({top.reason})"
    return f"truth ranked {rank + 1}, beaten by {top.reason} evidence"


def registry_lookup(url: str) -> Lookup:
    """Analysis's registry look-up (answers kept across workflows, as a running server keeps them)."""
    hits = RegistryHits(RegistryClient(url))
    return lambda node_types, node_map: asyncio.run(hits.lookup(node_types, node_map))


def evaluate(cases: list[Case], node_map: NodeMap, installed: set[str], *, strip: bool,
             lookup: Lookup | None = None) -> Outcome:
    """Rank every case; with ``lookup``, types nothing placed are asked of the registry and ranked again."""
    out = Outcome()
    for case in cases:
        out.rows += len(case.labels)
        try:
            workflow = read_workflow(case.load())
        except (MendError, ValueError) as exc:
            out.refused_workflows += 1
            out.misses["workflow refused"].extend(f"{case.name}: {exc}" for _ in case.labels)
            continue
        nodes = workflow.nodes
        if strip:
            nodes = [dataclasses.replace(n, cnr_id=None, aux_id=None, ver=None) for n in nodes]
        missing, _ = resolve_missing(nodes, installed, node_map, set())
        unknown = [t for t, e in missing.items() if not e.candidates]
        if lookup is not None and unknown:
            hits = lookup(unknown, node_map)
            if hits:
                missing, _ = resolve_missing(nodes, installed, node_map, set(), hits)
        for node_type, truth in case.labels.items():
            entry = missing.get(node_type)
            out.present += entry is None
            top = entry.candidates[0] if entry and entry.candidates else None
            strict = top is not None and is_pack(top.pack, truth)
            replaced = top is not None and not strict and replaces(top.pack, truth)
            strict = strict or replaced
            fork = top is not None and not strict and same_name_other_owner(top.pack, truth)
            out.strict += strict
            out.fork += fork
            if fork:
                out.forks[(truth, repo_of(top.pack))] += 1
            if replaced:
                out.replaced[(truth, repo_of(top.pack))] += 1
            elif strict and top.pack.repository != f"https://github.com/{truth}":
                out.moved[(truth, repo_of(top.pack))] += 1
            if entry is not None and entry.auto:
                out.auto += 1
                out.auto_wrong += not strict
                out.auto_wrong_not_fork += not strict and not fork
            if not strict:
                picked = f"{repo_of(top.pack)} ({top.reason})" if top else "-"
                auto = " AUTO" if entry is not None and entry.auto else ""
                out.misses[miss_class(entry, truth, node_map)].append(
                    f"{node_type!r} truth {truth}, picked {picked}{auto}  [{case.name[:60]}]")
    return out


def core_types(node_map: NodeMap, shared: Path) -> set[str]:
    """What a bare ComfyUI 0.8.0 has: the map's core entry plus the recorded object_info."""
    types = node_map.core_types()
    info = shared / "corpus" / "object_info-comfyui-0.8.0.json"
    if info.is_file():
        types |= set(json.loads(info.read_text()))
    return types


def print_sources(store: CatalogStore, registry: str | None) -> None:
    """Which catalogs this run read (a missing optional channel says so) and whether the registry was asked."""
    print(f"catalogs from {store.catalog_dir}:")
    for status in store.provenance():
        where = f"missing: {status.reason}" if status.source == "missing" else status.source
        print(f"  {status.name:40s} {where}")
    used = f"used, {registry}" if registry else "not used (offline run; --registry URL to use it)"
    print(f"registry look-up: {used}")
    print()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=next((d for d in SHARED_DEFAULTS if d.is_dir()), SHARED_DEFAULTS[0]))
    ap.add_argument("--collections", type=Path, default=HERE / "user_collections.tsv")
    ap.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"),
                    help="where fetched snapshots of the listed collections lie (owner+name/...)")
    ap.add_argument("--misses", type=int, default=40, help="print up to N misses per class")
    ap.add_argument("--examples", type=Path, default=Path("/opt/mend-eval"), help="pack-example cases (optional)")
    ap.add_argument("--catalog-dir", type=Path, help="catalogs from this folder (default: the shared folder's)")
    ap.add_argument("--registry", metavar="URL", help="ask this Comfy Registry for types no catalog lists")
    args = ap.parse_args()
    catalog = args.catalog_dir or args.shared / "catalog"
    if not (catalog / "extension-node-map.json").is_file():
        print(f"ranking bench skipped: no catalogs in {catalog}")
        return 0
    store = CatalogStore(catalog_dir=catalog)
    node_map = store.node_map()
    lookup = registry_lookup(args.registry) if args.registry else None
    print_sources(store, args.registry)
    installed = core_types(node_map, args.shared)
    sets = [("shared corpus/user-workflows", load_shared_cases(args.shared / "corpus" / "user-workflows"))]
    if args.collections.is_file():
        sets.append(("more collections (bench/user_collections.tsv)",
                     load_collections(args.collections, args.mirrors, node_map, installed)))
    everything = [c for _, cases in sets for c in cases]
    sets.append(("all user workflows", everything))
    for label, cases in sets:
        if not cases:
            print(f"== {label}: no cases here (files absent)\n")
            continue
        rows = sum(len(c.labels) for c in cases)
        print(f"== {label}: {len(cases)} workflows, {rows} labelled (workflow, node type) rows")
        stripped = evaluate(cases, node_map, installed, strip=True, lookup=lookup)
        stripped.print("stamps stripped (only Mend's evidence)")
        kept = evaluate(cases, node_map, installed, strip=False, lookup=lookup)
        kept.print("stamps kept")
        if label == "all user workflows" or len(sets) == 2:
            for name, outcome in (("stripped", stripped), ("kept", kept)):
                print(f"  misses, stamps {name}, by class:")
                for cls, rows_ in sorted(outcome.misses.items(), key=lambda kv: -len(kv[1])):
                    print(f"    {len(rows_):4d}  {cls}")
                    for line in rows_[: args.misses]:
                        print(f"            {line}")
        print()
    if args.examples.is_dir():
        import ranking_examples

        sys.argv = [sys.argv[0], str(args.examples), "--catalog", str(catalog)]
        ranking_examples.main()
    else:
        print(f"pack-example cases: {args.examples} is absent (see bench/ranking_examples.py)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
