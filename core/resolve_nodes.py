"""Ranking the packs that can provide each missing node type.

Order of evidence, strongest first: the workflow's own ``cnr_id``/``aux_id`` for the node; the pack
that preempts the name in Manager's map (unless that pack is itself a copy of another); exact map hits;
``nodename_pattern`` hits; the Comfy Registry. Among packs with the same evidence, in this order:

1. an installed pack (it only needs an update);
2. a pack the workflow needs anyway (the only one providing another of its missing types) that also
   provides everything the rival packs provide here: installing it makes them redundant (a fork with
   extra nodes beats the pack it forked when the workflow uses the extras);
3. the pack that *wrote* most of the workflow's missing types: coverage counts only names whose likely
   author (``NodeMap.origin``) is this pack, so an aggregator that copied nodes from five packs does
   not outscore the packs it copied from;
4. plain coverage of the missing types; a pack that is not a copy; stars; registration order.

A unique certain candidate is marked ``auto``; anything else is a question for the user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .catalog.node_map import NodeMap, Pack
from .install_plan import install_plan
from .workflow import WorkflowNode

#: node types the editor itself implements (never sent to the server, never "missing")
FRONTEND_ONLY_TYPES = frozenset({"Note", "MarkdownNote", "Reroute", "PrimitiveNode", "Comfy.SwitchNode"})

#: evidence -> (rank, confidence); lower rank is stronger
EVIDENCE = {
    "cnr_id": (0, 1.0),
    "aux_id": (0, 0.98),
    "preemption": (1, 0.95),
    "exact": (2, 0.9),
    "pattern": (3, 0.7),
    "registry": (4, 0.8),
}


@dataclass
class NodeCandidate:
    pack: Pack
    reason: str  # one of EVIDENCE
    installed: bool = False
    covers: int = 1  # how many of the workflow's missing types this pack provides
    version: str | None = None  # the workflow's ``ver`` for this pack (commit or semver)
    authored: int = 0  # of those, how many this pack most likely wrote (not copies of another pack's)
    needed: bool = False  # the only pack for another missing type: the workflow needs it anyway
    supersedes: bool = False  # needed, and provides every missing type the rival candidates provide
    claim_ignored: bool = False  # preempts the name but copied it (see NodeMap.origin): ranked as an exact hit
    stamp_id: str | None = None  # the workflow's ``cnr_id`` when it named this pack: a registry id
    install: dict | None = None  # set by the analysis for a pack to enable instead (see ``install_plan``)

    @property
    def confidence(self) -> float:
        return EVIDENCE[self.reason][1]

    def explain(self) -> str:
        what = {
            "cnr_id": "the workflow names this registry pack for the node",
            "aux_id": "the workflow names this repository for the node",
            "preemption": "the pack claims this node name in ComfyUI-Manager's map",
            "exact": "listed in ComfyUI-Manager's node map",
            "pattern": "matches the pack's node-name pattern",
            "registry": "the Comfy Registry lists the node in this pack",
        }[self.reason]
        copy_of = self.pack.copy_of
        extra = [
            "claims the name, but copies an older pack that wrote it, so the claim is not trusted"
            if self.claim_ignored else None,
            "already installed" if self.installed else None,
            "needed anyway for another missing node and provides all the others" if self.supersedes
            else "needed anyway for another missing node" if self.needed else None,
            f"provides {self.covers} of the missing types" if self.covers > 1 else None,
            f"wrote {self.authored} of them" if self.reason not in ("cnr_id", "aux_id") and self.covers > 1
            and self.authored < self.covers else None,
            f"most of its nodes are also in {copy_of.repository}" if copy_of else None,
            f"{self.pack.stars}★" if self.pack.stars else None,
        ]
        return "; ".join([what, *[e for e in extra if e]])

    def to_json(self) -> dict:
        return {
            "pack": self.pack.to_json(),
            "reason": self.reason,
            "explanation": self.explain(),
            "confidence": self.confidence,
            "installed": self.installed,
            "covers": self.covers,
            "authored": self.authored,
            "needed": self.needed,
            "version": self.version,
            "install": self.install or install_plan(
                self.pack, self.version if self.reason in ("cnr_id", "aux_id") else None, self.stamp_id),
        }


@dataclass
class MissingNode:
    type: str
    node_ids: list[str] = field(default_factory=list)
    inactive: bool = True  # every instance is muted or bypassed
    cnr_id: str | None = None
    aux_id: str | None = None
    ver: str | None = None
    core: bool = False  # a core ComfyUI node this server lacks: update ComfyUI or its dependencies
    candidates: list[NodeCandidate] = field(default_factory=list)

    @property
    def status(self) -> str:
        if not self.candidates:
            return "unknown"
        return "auto" if self.auto else "ambiguous"

    @property
    def auto(self) -> bool:
        """Certain: one candidate, or the workflow itself names the pack."""
        if not self.candidates:
            return False
        top = self.candidates[0]
        if top.reason in ("cnr_id", "aux_id", "preemption"):
            return True
        return len(self.candidates) == 1 and top.reason == "exact"

    def to_json(self) -> dict:
        return {
            "type": self.type,
            "node_ids": self.node_ids,
            "inactive": self.inactive,
            "cnr_id": self.cnr_id,
            "aux_id": self.aux_id,
            "ver": self.ver,
            "core": self.core,
            "status": self.status,
            "auto": self.auto,
            "candidates": [c.to_json() for c in self.candidates],
        }


def missing_nodes(nodes: Iterable[WorkflowNode], installed: set[str]) -> dict[str, MissingNode]:
    """Group the workflow's nodes whose type the server lacks, keeping the workflow's pack hints."""
    missing: dict[str, MissingNode] = {}
    for node in nodes:
        if node.type in installed or node.type in FRONTEND_ONLY_TYPES:
            continue
        entry = missing.setdefault(node.type, MissingNode(type=node.type))
        entry.node_ids.append(node.id)
        entry.inactive = entry.inactive and (node.muted or node.bypassed)
        if node.cnr_id and node.cnr_id != "comfy-core" and not entry.cnr_id:
            entry.cnr_id, entry.ver = node.cnr_id, node.ver or entry.ver
        if node.aux_id and not entry.aux_id:
            entry.aux_id, entry.ver = node.aux_id, entry.ver or node.ver
        if node.cnr_id == "comfy-core":
            entry.core = True
    return missing


def rank_candidates(
    missing: Mapping[str, MissingNode],
    node_map: NodeMap,
    installed_repos: set[str],
    registry_hits: Mapping[str, Pack] | None = None,
) -> None:
    """Fill and order ``candidates`` of every missing node type, in place."""
    found: dict[str, list[tuple[Pack, str]]] = {}
    for node_type, entry in missing.items():
        found[node_type] = _evidence(entry, node_map, (registry_hits or {}).get(node_type))
        if any(p.is_core for p, _ in found[node_type]):
            entry.core = True
    covered: dict[int, set[str]] = {}  # id(pack) -> the missing types it provides
    authored: dict[int, int] = {}
    needed: set[int] = set()
    for node_type, hits in found.items():
        origin = node_map.origin(node_type)
        for pack, _ in hits:
            covered.setdefault(id(pack), set()).add(node_type)
            if origin is None or origin is pack:
                authored[id(pack)] = authored.get(id(pack), 0) + 1
        if len(hits) == 1:
            needed.add(id(hits[0][0]))
    for node_type, entry in missing.items():
        hits = found[node_type]
        candidates = []
        for pack, reason in hits:
            mine = covered[id(pack)]
            candidate = NodeCandidate(
                pack, reason, _is_installed(pack, installed_repos), len(mine), entry.ver, authored.get(id(pack), 0),
                needed=id(pack) in needed,
            )
            candidate.supersedes = candidate.needed and all(covered[id(q)] <= mine for q, _ in hits)
            if reason == "cnr_id":
                candidate.stamp_id = entry.cnr_id
            if reason == "preemption" and node_map.origin(node_type) not in (None, pack):
                candidate.reason, candidate.claim_ignored = "exact", True
            candidates.append(candidate)
        candidates.sort(key=_rank_key)
        entry.candidates = candidates


def _is_installed(pack: Pack, installed_repos: set[str]) -> bool:
    return pack.repository in installed_repos or bool(pack.aliases & installed_repos)


def _rank_key(c: NodeCandidate) -> tuple:
    return (EVIDENCE[c.reason][0], not c.pack.is_core, not c.installed, not c.supersedes, -c.authored, -c.covers,
            c.pack.is_copy, -c.pack.stars, c.pack.order, c.pack.repository)


def _evidence(entry: MissingNode, node_map: NodeMap, registry_pack: Pack | None) -> list[tuple[Pack, str]]:
    hits: list[tuple[Pack, str]] = []
    seen: set[int] = set()

    def add(pack: Pack | None, reason: str) -> None:
        if pack is not None and id(pack) not in seen:
            seen.add(id(pack))
            hits.append((pack, reason))

    if entry.cnr_id:
        add(node_map.pack_by_id(entry.cnr_id) or _registry_only_pack(entry.cnr_id), "cnr_id")
    if entry.aux_id:
        add(node_map.pack_by_aux_id(entry.aux_id) or _github_pack(entry.aux_id), "aux_id")
    add(node_map.preempted_by(entry.type), "preemption")
    for pack in node_map.exact(entry.type):
        add(pack, "exact")
    for pack in node_map.by_pattern(entry.type):
        add(pack, "pattern")
    add(registry_pack, "registry")
    return hits


def _registry_only_pack(cnr_id: str) -> Pack:
    """A registry pack the catalogs do not list: installable by id all the same."""
    return Pack(repository=f"registry:{cnr_id}", title=cnr_id, id=cnr_id, install_type="cnr")


def _github_pack(aux_id: str) -> Pack:
    url = f"https://github.com/{aux_id}".lower()
    return Pack(repository=url, title=aux_id.rsplit("/", 1)[-1], aliases={url})
