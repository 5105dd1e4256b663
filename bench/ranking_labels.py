"""The cases of ``bench/ranking.py``: users' workflows and, per node type, the pack it truly belongs to.

The shared corpus comes labelled (``labels.tsv``). A collection listed in ``bench/user_collections.tsv``
(repo, path, commit) is read from its fetched snapshot (``git show commit:path``) and labelled from its
stamps by the same rules, strongest first: a well-formed ``aux_id`` (owner/repo) names the repository; a
``cnr_id`` that another node of the collection pairs with an ``aux_id`` names that repository; a
``cnr_id`` that is a registry id the catalogs know names that pack. Anything else (a registry id the
catalogs do not know, garbage) leaves the type unlabelled: it is not in any denominator. Neither is a
type a bare ComfyUI has (a stamp naming a pack for a core node is wrong), nor one whose stamp Mend finds
re-stamped by a tool (``core/stamps.suspect_stamps``: a workflow-encryption tool's id on every node is no
truth about the packs; the stripped runs never see stamps, so this cannot flatter them).
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mend.core.catalog.node_map import NodeMap
from mend.core.errors import MendError
from mend.core.resolve.stamps import suspect_stamps
from mend.core.workflow.reader import read_workflow

AUX_SHAPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9_.-]+$")


@dataclass
class Case:
    name: str
    load: Callable[[], Any]  # the parsed workflow JSON (raises ValueError on a broken document)
    labels: dict[str, str]  # node type -> "owner/repo", lower case


def load_shared_cases(folder: Path) -> list[Case]:
    labels_file = folder / "labels.tsv"
    if not labels_file.is_file():
        return []
    labels: dict[str, dict[str, str]] = {}
    with labels_file.open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["truth_pack_repo"]:
                labels.setdefault(row["file"], {})[row["node_type"]] = row["truth_pack_repo"].lower()
    return [Case(name, _file_loader(folder / "wf" / name), found) for name, found in sorted(labels.items())]


def _file_loader(path: Path) -> Callable[[], Any]:
    return lambda: json.loads(path.read_text(encoding="utf-8"))


def load_collections(listing: Path, mirrors: Path, node_map: NodeMap, core: set[str]) -> list[Case]:
    """Cases of the listed collections whose snapshots are fetched under ``mirrors``; labelled from stamps."""
    docs: list[tuple[str, Any]] = []
    with listing.open(encoding="utf-8") as f:
        for row in csv.DictReader((line for line in f if not line.startswith("#")), delimiter="\t"):
            git_dir = _git_dir(mirrors, row["repo"])
            if git_dir is None:
                continue
            shown = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{row['commit']}:{row['path']}"],
                                   capture_output=True)
            if shown.returncode != 0:
                continue
            try:
                docs.append((f"{row['repo']}:{row['path']}", json.loads(shown.stdout)))
            except ValueError:
                docs.append((f"{row['repo']}:{row['path']}", None))
    paired = _paired_cnr_ids([d for _, d in docs])
    cases = []
    for name, doc in docs:
        labels = stamp_labels(doc, paired, node_map, core) if doc is not None else {}
        if labels:
            cases.append(Case(name, (lambda d=doc: d), labels))
    return cases


def _git_dir(mirrors: Path, repo: str) -> Path | None:
    root = mirrors / repo.replace("/", "+")
    found = [p.parent for p in root.glob("**/HEAD") if (p.parent / "objects").is_dir()] if root.is_dir() else []
    return found[0] if found else None


def _stamped_nodes(doc: Any) -> list[dict]:
    """Every node object of a UI workflow, subgraph definitions included."""
    out: list[dict] = []

    def walk(graph: Any) -> None:
        if not isinstance(graph, dict):
            return
        out.extend(n for n in graph.get("nodes") or [] if isinstance(n, dict))
        for sg in ((graph.get("definitions") or {}).get("subgraphs") or []) if isinstance(
                graph.get("definitions"), dict) else []:
            walk(sg)

    walk(doc)
    return out


def _stamps(node: dict) -> tuple[str, str, str]:
    props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
    return (str(node.get("type") or ""), str(props.get("cnr_id") or ""), str(props.get("aux_id") or ""))


def _paired_cnr_ids(docs: list[Any]) -> dict[str, str]:
    """cnr_id -> owner/repo where some node of the collection carries both (and they never disagree)."""
    seen: dict[str, set[str]] = {}
    for doc in docs:
        for node in _stamped_nodes(doc):
            _, cnr, aux = _stamps(node)
            if cnr and AUX_SHAPE.match(aux):
                seen.setdefault(cnr, set()).add(aux.lower())
    return {cnr: next(iter(repos)) for cnr, repos in seen.items() if len(repos) == 1}


def stamp_labels(doc: Any, paired: dict[str, str], node_map: NodeMap, core: set[str]) -> dict[str, str]:
    try:
        suspect, _ = suspect_stamps(read_workflow(doc).nodes, node_map, core)
    except MendError:
        suspect = set()
    labels: dict[str, str] = {}
    for node in _stamped_nodes(doc):
        node_type, cnr, aux = _stamps(node)
        if not node_type or cnr == "comfy-core" or node_type in core or {cnr, aux} & suspect:
            continue
        truth = None
        if AUX_SHAPE.match(aux):
            truth = aux.lower()
        elif cnr in paired:
            truth = paired[cnr]
        elif cnr:
            pack = node_map.pack_by_registry_id(cnr)
            if pack is not None and pack.repository.startswith("https://github.com/"):
                truth = pack.repository.removeprefix("https://github.com/")
        if truth and node_type not in labels:
            labels[node_type] = truth
    return labels
