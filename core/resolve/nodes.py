"""Ranking the packs that can provide each missing node type.

Evidence, strongest first. The workflow's own stamps (checked in ``stamps``): a ``cnr_id`` that is a
registry id the catalogs know, an ``aux_id`` (``owner/repo``) they list, an ``aux_id`` they do not list
(install from git; when ComfyUI-Manager's legacy channel lists it as deprecated, the default pack that
replaces it first, the original beside it), a ``cnr_id`` they do not know (its repository name, else the
registry by id); a catalog pack of the same repository name under another owner than the stamp says is
offered beside it (a fork, a renamed owner), never as the pack. Then the node map: the pack that preempts
the name (unless it is itself a copy of another), exact hits, ``nodename_pattern`` hits; editor-only nodes
of known packs; the Comfy Registry; ComfyUI-Manager's dev channel (packs in development, see
``catalog/channels``); a pack whose name the type carries (``node_hints``); last, a stamp a re-stamping
tool put on many nodes. A copy's map evidence ranks below a rival original's, whatever its
kind. Among packs with the same evidence, in this order:

1. an installed pack (it only needs an update);
2. a pack the workflow needs anyway (the only one providing another of its missing types) that also
   provides everything the rival packs provide here: installing it makes them redundant (a fork with
   extra nodes beats the pack it forked when the workflow uses the extras);
3. a pack whose repository is named after the node (``Audio Duration``: ``comfy-audio-duration``); then
   the pack that *wrote* most of the workflow's missing types: coverage counts only names whose likely
   author (``NodeMap.origin``) is this pack, so an aggregator that copied nodes from five packs does
   not outscore the packs it copied from;
4. plain coverage of the missing types; a pack that is not a copy; stars; registration order.

``auto`` means the pick cannot reasonably be wrong: a stamp the catalogs confirm (and no other stamp
of the node names another pack), an owner's preemption, or the one pack the default channel's map lists
(a dev-channel listing beside it does not count; a dev listing itself is never ``auto``); anything else
is a question for the user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..catalog.channels import dev_pack, dev_packs_for
from ..catalog.install_plan import install_plan
from ..catalog.node_map import NodeMap, Pack
from ..workflow.reader import WorkflowNode
from ..workflow.report_warning import ReportWarning
from .core_nodes import CoreFacts, core_note, core_types, newer
from .node_hints import frontend_pack, name_hints, name_key, packs_named
from .pack_pins import one_pin_per_pack
from .stamps import CORE_ID, checked_stamps, paired_stamps, suspect_stamps

#: node types the editor itself implements (never sent to the server, never "missing")
FRONTEND_ONLY_TYPES = frozenset({"Note", "MarkdownNote", "Reroute", "PrimitiveNode", "Comfy.SwitchNode"})

#: evidence -> (rank, confidence); lower rank is stronger
EVIDENCE = {
    "cnr_id": (0, 1.0),  # a registry id the catalogs know
    "aux_id": (0, 0.98),  # an owner/repo the catalogs list
    "git": (0, 0.9),  # an owner/repo the catalogs do not list: installed from git
    "stamp_name": (1, 0.85),  # an unknown registry id that is a catalog pack's repository name
    "manager_id": (1, 0.85),  # an unknown registry id that is ComfyUI-Manager's id of a catalog pack
    "registry_id": (3, 0.8),  # an unknown registry id, no pack of that name: installed from the registry
    "preemption": (2, 0.95),
    "exact": (3, 0.9),
    "pattern": (4, 0.7),
    "frontend": (4, 0.8),
    "replacement": (0, 0.85),  # the default pack that replaces the deprecated pack a stamp names
    "registry": (5, 0.8),
    "dev": (6, 0.6),  # listed in ComfyUI-Manager's dev channel only: below any default-channel listing
    "same_name": (7, 0.5),  # same repository name as a stamp, another owner: a fork or a rename
    "name_hint": (8, 0.4),
    "suspect_stamp": (9, 0.3),
}
#: a pack the map alone names is ``auto`` only with this many GitHub stars (when the catalogs know stars): the
#: map is most often stale or ambiguous for small packs, and installing unvetted code deserves a question
AUTO_MIN_STARS = 10
#: a rival that copies the top pack (``Pack.copy_of``) and has at most 1/COPY_STARS_LEAD of its stars does not
#: make the top pick uncertain: people install the original (VideoHelperSuite, 1,772★, beside a 4★ copy of it)
COPY_STARS_LEAD = 10
STAMP_REASONS = frozenset({"cnr_id", "aux_id", "git", "stamp_name", "manager_id", "registry_id"})
MAP_REASONS = frozenset({"preemption", "exact", "pattern"})


@dataclass
class NodeCandidate:
    pack: Pack
    reason: str  # one of EVIDENCE
    installed: bool = False
    covers: int = 1  # how many of the workflow's missing types this pack provides
    version: str | None = None  # the version its install plan pins: the workflow's ``ver`` for this pack
    authored: int = 0  # of those, how many this pack most likely wrote (not copies of another pack's)
    needed: bool = False  # the only pack for another missing type: the workflow needs it anyway
    supersedes: bool = False  # needed, and provides every missing type the rival candidates provide
    claim_ignored: bool = False  # preempts the name but copied it (see NodeMap.origin): ranked as an exact hit
    stamp_id: str | None = None  # the workflow's ``cnr_id`` when it named this pack: a registry id
    install: dict | None = None  # set by the analysis for a pack to enable instead (see ``install_plan``)
    listed: bool = False  # the map lists the type in this pack (exactly or by pattern): corroborates a stamp
    demoted: bool = False  # a copy whose map evidence ranks below a rival original's (unless it supersedes it)
    vetted: bool = True  # starred enough (``AUTO_MIN_STARS``) to be installed on the map's word alone
    moved_from: str | None = None  # the stamp named the pack's former repository, as the catalog records it
    replaced: str | None = None  # the stamp named this deprecated repository, which the pack replaces
    named_after: bool = False  # the pack's repository is named after the node (``comfy-audio-duration``)
    copied_by: int = 0  # rivals that are far less starred copies of this pack (see ``COPY_STARS_LEAD``)
    hint: str | None = None  # for ``name_hint``: what in the node's name points at this pack (``NameHint.how``)
    needed_decides: bool = False  # ``supersedes`` orders it against a rival equal in stronger keys: worth saying
    pin_note: str | None = None  # why this version, when the workflow's nodes name several (``pack_pins``)

    @property
    def confidence(self) -> float:
        return EVIDENCE[self.reason][1]

    @property
    def install_version(self) -> str | None:
        """The version this candidate's install pins: set only from a stamp that names this very pack (a version
        stamped for another repository, a fork's or the archived original's, is not this pack's), then the same
        on every row of the pack (``pack_pins``)."""
        return self.version

    def explain(self) -> str:
        what = {
            "cnr_id": "the workflow names this registry pack for the node",
            "aux_id": "the workflow names this repository for the node",
            "preemption": "the pack claims this node name in ComfyUI-Manager's map",
            "exact": "listed in ComfyUI-Manager's node map",
            "pattern": "matches the pack's node-name pattern",
            "registry": "the Comfy Registry lists the node in this pack",
            "dev": "listed in ComfyUI-Manager's dev channel (packs in development)",
            "replacement": f"the workflow names {_repo(self.replaced)}, which ComfyUI-Manager lists as deprecated "
            f"({self.pack.replaces.get(self.replaced or '', '')}); this pack replaces it",
            "git": "the workflow names this repository for the node; the catalogs do not list it (install from git)",
            "stamp_name": "the workflow's registry id for the node is this pack's repository name",
            "manager_id": "the workflow's registry id for the node is ComfyUI-Manager's id for this pack",
            "registry_id": "the workflow names this registry id for the node; the catalogs do not know it",
            "frontend": "a node this pack implements in the editor only",
            "same_name": "same repository name as the workflow's stamp under another owner: a fork or a rename?",
            "name_hint": f"{self.hint or 'its name resembles this pack'}; the catalogs do not list the node",
            "suspect_stamp": "the workflow's stamp, which looks re-stamped by a tool (see warnings)",
        }[self.reason]
        copy_of = self.pack.copy_of
        extra = [
            f"the workflow names {self.moved_from.removeprefix('https://github.com/')}, which ComfyUI-Manager "
            f"records as this pack's author: the repository moved" if self.moved_from else None,
            f"ComfyUI-Manager lists it in its {self.pack.channel} channel only ({self.pack.title})"
            if self.pack.channel != "default" and self.reason != "dev" else None,
            f"replaces {', '.join(_repo(u) for u in sorted(self.pack.replaces))}, deprecated in ComfyUI-Manager"
            if self.pack.replaces and self.reason != "replacement" else None,
            "claims the name, but copies an older pack that wrote it, so the claim is not trusted"
            if self.claim_ignored else None,
            "ComfyUI-Manager's map lists the node here" if self.listed and self.reason not in MAP_REASONS else None,
            "already installed" if self.installed else None,
            f"also listed by {self.copied_by} cop{'ies' if self.copied_by > 1 else 'y'} of this pack with "
            f"under 1/{COPY_STARS_LEAD} of its stars" if self.copied_by else None,
            "needed anyway for another missing node and provides all the others"
            if self.supersedes and self.needed_decides else None,
            "the repository is named after the node" if self.named_after else None,
            self.pin_note,
            f"provides {self.covers} of the missing types" if self.covers > 1 else None,
            f"wrote {self.authored} of them" if self.reason not in ("cnr_id", "aux_id") and self.covers > 1
            and self.authored < self.covers else None,
            f"most of its nodes are also in {copy_of.repository}" if copy_of else None,
            f"{self.pack.stars}★" if self.pack.stars else None,
            f"fewer than {AUTO_MIN_STARS}★: asked, not installed on the map's word alone"
            if not self.vetted and self.reason == "exact" else None,
        ]
        return "; ".join([what, *[e for e in extra if e]])

    def install_plan(self) -> dict:
        """What installing this candidate posts and the label shown before the click (``install_plan``)."""
        return install_plan(self.pack, self.version, self.stamp_id)

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
            "listed": self.listed,
            "version": self.version,
            "install": self.install or self.install_plan(),
        }


def _repo(url: str | None) -> str:
    return (url or "").removeprefix("https://github.com/")


@dataclass
class MissingNode:
    type: str
    node_ids: list[str] = field(default_factory=list)
    inactive: bool = True  # every instance is muted or bypassed
    cnr_id: str | None = None
    aux_id: str | None = None
    ver: str | None = None
    core: bool = False  # a core ComfyUI node this server lacks: never a pack, see ``core_nodes``
    needs_comfyui: str | None = None  # the ComfyUI version the workflow's ``comfy-core`` stamp names
    core_note: str | None = None  # why this ComfyUI lacks it (``core_nodes.core_note``), set by the analysis
    suspect: bool = False  # the node's stamp looks re-stamped by a tool (``stamps.suspect_stamps``)
    split: bool = False  # the map puts this type and its namesake (``Foo``, ``FooGuide``) in two packs
    pins_disagree: bool = False  # the workflow's nodes pin its top pack at versions that cannot be reconciled
    candidates: list[NodeCandidate] = field(default_factory=list)

    @property
    def status(self) -> str:
        if not self.candidates:
            return "unknown"
        return "auto" if self.auto else "ambiguous"

    @property
    def auto(self) -> bool:
        """Certain: a stamp the catalogs confirm, an owner's claim, or the one pack the map lists (besides far less
        starred copies of it); never a guess."""
        if not self.candidates:
            return False
        top, rivals = self.candidates[0], self.candidates[1:]
        if any(c.reason in STAMP_REASONS for c in rivals) or self.pins_disagree:
            return False  # the node's stamps name two packs, or two versions of one that may not be alike: ask
        if top.reason in ("cnr_id", "aux_id"):
            return True
        if top.reason in ("stamp_name", "manager_id"):  # a registry id matched by name: sure if nothing else bears it
            return top.listed and not any(c.reason in ("stamp_name", "manager_id") for c in rivals)
        if top.reason == "preemption":
            return True
        # a pack in development (dev channel) that lists the name too is no rival to the default channel's one pack,
        # nor is a far less starred copy of it
        listed_rivals = [c for c in rivals if c.reason != "dev"]
        return top.reason == "exact" and top.copied_by == len(listed_rivals) and top.vetted and not self.split

    @property
    def note(self) -> str | None:
        """A core node is no pack's: why this ComfyUI lacks it (a newer ComfyUI, a core module that failed)."""
        if self.core:
            return self.core_note or core_note(self.type, self.needs_comfyui, CoreFacts())
        return None

    def to_json(self) -> dict:
        return {
            "type": self.type,
            "node_ids": self.node_ids,
            "inactive": self.inactive,
            "cnr_id": self.cnr_id,
            "aux_id": self.aux_id,
            "ver": self.ver,
            "core": self.core,
            "needs_comfyui": self.needs_comfyui,
            "note": self.note,
            "status": self.status,
            "auto": self.auto,
            "candidates": [c.to_json() for c in self.candidates],
        }


def missing_nodes(
    nodes: Iterable[WorkflowNode], installed: set[str], suspect: set[str] = frozenset(),
    core: set[str] = frozenset(),
) -> dict[str, MissingNode]:
    """Group the workflow's nodes whose type the server lacks, keeping the workflow's pack hints.

    A type in ``core`` (ComfyUI's own) is core unless a trusted pack stamp of the node names a pack.
    """
    missing: dict[str, MissingNode] = {}
    for node in nodes:
        if node.type in installed or node.type in FRONTEND_ONLY_TYPES:
            continue
        entry = missing.setdefault(node.type, MissingNode(type=node.type))
        entry.node_ids.append(node.id)
        entry.inactive = entry.inactive and (node.muted or node.bypassed)
        if node.cnr_id == CORE_ID:
            entry.core = True
            entry.needs_comfyui = newer(entry.needs_comfyui, node.ver)
            continue
        if node.type in core and not ({node.cnr_id, node.aux_id} - {None} - suspect):
            entry.core = True
            continue
        if node.cnr_id and not entry.cnr_id:
            entry.cnr_id, entry.ver = node.cnr_id, node.ver or entry.ver
        if node.aux_id and not entry.aux_id:
            entry.aux_id, entry.ver = node.aux_id, entry.ver or node.ver
        entry.suspect = entry.suspect or bool({node.cnr_id, node.aux_id} & suspect)
    return missing


def resolve_missing(
    nodes: Iterable[WorkflowNode],
    installed: set[str],
    node_map: NodeMap,
    installed_repos: set[str],
    registry_hits: Mapping[str, Pack] | None = None,
    core_facts: CoreFacts | None = None,
) -> tuple[dict[str, MissingNode], list[ReportWarning]]:
    """Check the stamps, group what is missing, rank its candidates; with the warnings all that said.

    An editor-only node of a pack that is installed is not missing (the server never lists those). A
    core node has no candidates, only its ``core_note`` (``core_facts``: this ComfyUI's version and
    failed core modules).
    """
    nodes, warnings = checked_stamps(nodes)
    nodes = paired_stamps(nodes)
    core = core_types(node_map)
    suspect, said = suspect_stamps(nodes, node_map, core)
    missing = missing_nodes(nodes, installed, suspect, core)
    rank_candidates(missing, node_map, installed_repos, registry_hits)
    for entry in missing.values():
        if entry.core:
            entry.core_note = core_note(entry.type, entry.needs_comfyui, core_facts or CoreFacts())
    for node_type, entry in list(missing.items()):
        top = entry.candidates[0] if entry.candidates else None
        if top is not None and top.reason == "frontend" and top.installed:
            del missing[node_type]
    return missing, [*warnings, *said]


def rank_candidates(
    missing: Mapping[str, MissingNode],
    node_map: NodeMap,
    installed_repos: set[str],
    registry_hits: Mapping[str, Pack] | None = None,
) -> None:
    """Fill and order ``candidates`` of every missing node type, in place."""
    found: dict[str, list[tuple[Pack, str]]] = {}
    hints: dict[str, dict[Pack, str]] = {}
    for node_type, entry in missing.items():
        hints[node_type] = {}
        # ComfyUI itself is never a pack to install: a core node gets none, and no other node gets ComfyUI
        found[node_type] = [] if entry.core else [(p, r) for p, r in _evidence(
            entry, node_map, (registry_hits or {}).get(node_type), hints[node_type]) if not p.is_core]
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
    stars_known = any(p.stars for p in node_map.packs.values())
    for node_type, entry in missing.items():
        hits = found[node_type]
        listers = {id(p) for p in (node_map.preempted_by(node_type), *node_map.exact(node_type),
                                    *node_map.by_pattern(node_type)) if p is not None}
        candidates = []
        for pack, reason in hits:
            mine = covered[id(pack)]
            candidate = NodeCandidate(
                pack, reason, _is_installed(pack, installed_repos), len(mine),
                entry.ver if reason in STAMP_REASONS else None, authored.get(id(pack), 0),
                needed=id(pack) in needed, listed=id(pack) in listers,
            )
            candidate.supersedes = candidate.needed and all(covered[id(q)] <= mine for q, _ in hits)
            candidate.vetted = not stars_known or pack.stars >= AUTO_MIN_STARS
            candidate.named_after = name_key(pack.repo_name) == name_key(node_type)
            candidate.hint = hints[node_type].get(pack)
            if reason in ("cnr_id", "stamp_name", "registry_id"):  # not manager_id: that id is Manager's too
                candidate.stamp_id = entry.cnr_id
            if reason == "aux_id" and entry.aux_id:
                former = f"https://github.com/{entry.aux_id}".lower()
                candidate.moved_from = former if former in pack.moved_from else None
            if reason == "replacement" and entry.aux_id:
                candidate.replaced = f"https://github.com/{entry.aux_id}".lower()
            if reason == "preemption" and node_map.origin(node_type) not in (None, pack):
                candidate.reason, candidate.claim_ignored = "exact", True
            candidates.append(candidate)
        originals = [c for c in candidates if c.listed and not c.pack.is_copy]
        for c in candidates:
            c.demoted = c.reason in MAP_REASONS and c.pack.is_copy and bool(originals) and not c.supersedes
        candidates.sort(key=_rank_key)
        for c in candidates:  # "needed anyway" is said only where it decides the order against a rival
            c.needed_decides = any(r is not c and _rank_key(r)[:_SUPERSEDES] == _rank_key(c)[:_SUPERSEDES]
                                   and r.supersedes != c.supersedes for r in candidates)
        top = candidates[0] if candidates else None
        if top is not None:
            top.copied_by = sum(_lesser_copy(c.pack, top.pack) for c in candidates[1:] if c.reason != "dev")
        entry.candidates = candidates
    _split_pairs(missing)
    one_pin_per_pack(missing)


#: a missing type whose name begins with another's whole name (at least this long) is likely of the same pack
PAIR_MIN = 6


def _split_pairs(missing: Mapping[str, MissingNode]) -> None:
    """Mark types the map splits from their namesake: ``LTXDirector`` and ``LTXDirectorGuide`` in one workflow are
    one pack's pair, so a map that lists each in a different pack, neither in both, is stale or a copy: ask."""
    names = sorted(t for t, e in missing.items() if e.candidates and e.candidates[0].reason == "exact")
    for i, short in enumerate(names):
        if len(short) < PAIR_MIN:
            continue
        for long in names[i + 1:]:
            if not long.startswith(short):
                break
            a, b = missing[short].candidates[0].pack, missing[long].candidates[0].pack
            if a is not b and short not in b.node_types and long not in a.node_types:
                missing[short].split = missing[long].split = True


def _lesser_copy(pack: Pack, of: Pack) -> bool:
    """``pack`` copies ``of`` (most of its names come from it) and has under 1/COPY_STARS_LEAD of its stars."""
    return pack.copy_of is of and of.stars >= COPY_STARS_LEAD * max(pack.stars, 1)


def _is_installed(pack: Pack, installed_repos: set[str]) -> bool:
    return pack.repository in installed_repos or bool(pack.aliases & installed_repos)


#: where ``not supersedes`` sits in ``_rank_key``: the keys before it are stronger
_SUPERSEDES = 5


def _rank_key(c: NodeCandidate) -> tuple:
    return (c.demoted, EVIDENCE[c.reason][0], not c.listed, not c.pack.is_core, not c.installed, not c.supersedes,
            not c.named_after, -c.authored, -c.covers, c.pack.is_copy, -c.pack.stars, c.pack.order, c.pack.repository)


def _evidence(entry: MissingNode, node_map: NodeMap, registry_pack: Pack | None,
              hints: dict[Pack, str]) -> list[tuple[Pack, str]]:
    """The packs that may provide ``entry``'s type, each with its evidence kind, strongest first; ``hints`` gets
    what in the name points at each ``name_hint`` pack."""
    hits: list[tuple[Pack, str]] = []
    seen: set[str] = set()

    def add(pack: Pack | None, reason: str) -> None:
        if pack is not None and pack.repository not in seen:
            seen.add(pack.repository)
            hits.append((pack, reason))

    stamps: list[tuple[Pack, str]] = []
    if entry.aux_id:
        stamps += _aux_evidence(entry.aux_id, node_map)
    if entry.cnr_id:
        stamps += _cnr_evidence(entry.cnr_id, node_map, named_owner=bool(entry.aux_id))
    if entry.suspect:
        stamps = [(pack, "suspect_stamp") for pack, _ in stamps]
    for pack, reason in stamps:
        if reason != "suspect_stamp":
            add(pack, reason)
    add(node_map.preempted_by(entry.type), "preemption")
    for pack in node_map.exact(entry.type):
        add(pack, "exact")
    for pack in node_map.by_pattern(entry.type):
        add(pack, "pattern")
    add(frontend_pack(entry.type, node_map), "frontend")
    add(registry_pack, "registry")
    for pack in dev_packs_for(node_map, entry.type):
        add(pack, "dev")
    for pack, reason in stamps:
        if reason == "suspect_stamp":
            add(pack, reason)
    if not hits:
        for hint in name_hints(entry.type, node_map):
            add(hint.pack, "name_hint")
            hints.setdefault(hint.pack, hint.how)
    return hits


def _aux_evidence(aux_id: str, node_map: NodeMap) -> list[tuple[Pack, str]]:
    """An ``owner/repo``: the catalogs' pack when they list that very repository, else a git install of it;
    catalog packs of the same repository name under other owners beside it (a fork or a renamed owner)."""
    url = f"https://github.com/{aux_id}".lower()
    listed = node_map.pack_by_url(url)
    if listed is not None and url in listed.aliases:
        return [(listed, "aux_id")]
    original = dev_pack(node_map, url) or node_map.legacy.get(url) or _github_pack(aux_id)
    replacement = node_map.replaced.get(url)
    found = [(replacement, "replacement")] if replacement is not None else []
    return [*found, (original, "git"), *((p, "same_name") for p in node_map.family_packs(aux_id.split("/")[1]))]


def _cnr_evidence(cnr_id: str, node_map: NodeMap, *, named_owner: bool) -> list[tuple[Pack, str]]:
    """A registry id: the catalogs' pack with that id; else the packs whose repository bears the name (when the
    node's ``aux_id`` names the owner, only as a fork or rename of it); else the registry by id."""
    pack = node_map.pack_by_registry_id(cnr_id)
    if pack is not None:
        return [(pack, "cnr_id")]
    family = node_map.family_packs(cnr_id) or packs_named(cnr_id, node_map)
    # Manager's list ``id`` is its own, not the registry's ("vhs" for comfyui-videohelpersuite), but when it
    # equals the stamp it is evidence of which pack the stamp means (never sent to the registry as an id)
    managed = node_map.pack_by_manager_id(cnr_id)
    if named_owner:
        return [(p, "same_name") for p in family]
    if not family:
        if managed is not None:
            return [(managed, "manager_id")]
        return [(_registry_only_pack(cnr_id), "registry_id")]
    return [(p, "stamp_name") for p in family]


def _registry_only_pack(cnr_id: str) -> Pack:
    """A registry pack the catalogs do not list: installable by id all the same."""
    return Pack(repository=f"registry:{cnr_id}", title=cnr_id, id=cnr_id, install_type="cnr")


def _github_pack(aux_id: str) -> Pack:
    url = f"https://github.com/{aux_id}".lower()
    return Pack(repository=url, title=aux_id.rsplit("/", 1)[-1], aliases={url})
