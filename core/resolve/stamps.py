"""A node's stamps (``cnr_id``, ``aux_id``, ``ver``) as evidence to check, never as commands.

The editor writes ``cnr_id`` (the Comfy Registry id of the node's pack, ``comfy-core`` for ComfyUI's
own nodes), ``aux_id`` (``owner/repo`` of a pack installed from GitHub) and ``ver`` (its version or
commit). Real files also carry garbage: ``aux_id: "GetNode"`` written for virtual nodes, a trailing
slash, ``cnr_id`` made of NUL bytes. And some tools that are not packs re-stamp every node of a
workflow with their own ``cnr_id``. This module drops what has not the shape of a stamp and finds
stamps the node map contradicts for many node types of one workflow; each becomes a report warning.

    >>> valid_aux_id("kijai/ComfyUI-KJNodes"), valid_aux_id("GetNode"), valid_aux_id("ComfyUI-WanVideoWrapper/")
    (True, False, False)
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from ..catalog.node_map import NodeMap, Pack
from ..workflow.reader import WorkflowNode
from ..workflow.report_warning import ReportWarning
from .node_hints import name_key, packs_named

CORE_ID = "comfy-core"
#: GitHub's shapes: an owner of letters, digits and single hyphens; a repository of letters, digits, ``-_.``
AUX_ID = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/(?!\.{1,2}$)[A-Za-z0-9_.-]{1,100}$")
#: a Comfy Registry id (the registry lower-cases new ids; older stamps keep the repository's case)
CNR_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
VER = re.compile(r"^[\x21-\x7e]{1,80}$")
#: a stamp is suspect when the node map contradicts it for at least this many types of one workflow,
SUSPECT_MIN_TYPES = 3
#: ... and for more than this share of the types it stamps that the map knows
SUSPECT_SHARE = 0.5
#: two repository names are one fork family when their undecorated names start alike for this long ...
SAME_STEM_MIN = 6
#: ... and for this share of the shorter one
SAME_STEM_SHARE = 0.6


def valid_aux_id(value: str | None) -> bool:
    return bool(value) and AUX_ID.match(value) is not None  # type: ignore[arg-type]


def valid_cnr_id(value: str | None) -> bool:
    return bool(value) and CNR_ID.match(value) is not None  # type: ignore[arg-type]


def checked_stamps(nodes: Iterable[WorkflowNode]) -> tuple[list[WorkflowNode], list[ReportWarning]]:
    """The nodes with stamps that have not the shape of one removed; one warning per distinct bad value."""
    out: list[WorkflowNode] = []
    bad: dict[tuple[str, str], list[str]] = {}
    for node in nodes:
        changes = {}
        if node.aux_id is not None and not valid_aux_id(node.aux_id):
            bad.setdefault(("aux_id", node.aux_id), []).append(node.id)
            changes["aux_id"] = None
        if node.cnr_id is not None and not valid_cnr_id(node.cnr_id):
            bad.setdefault(("cnr_id", node.cnr_id), []).append(node.id)
            changes["cnr_id"] = None
        if node.ver is not None and not VER.match(node.ver):
            changes["ver"] = None
        if changes and "cnr_id" in changes and node.aux_id is None:
            changes["ver"] = None
        out.append(dataclasses.replace(node, **changes) if changes else node)
    warnings = [
        ReportWarning(
            "stamp_ignored",
            f"{what} {value!r} is not {'owner/repo' if what == 'aux_id' else 'a registry id'}; ignored "
            f"({len(ids)} node{'s' if len(ids) > 1 else ''})",
            ids[0],
        )
        for (what, value), ids in bad.items()
    ]
    return out, warnings


def suspect_stamps(
    nodes: Iterable[WorkflowNode], node_map: NodeMap, core_types: set[str]
) -> tuple[set[str], list[ReportWarning]]:
    """Stamp values (``cnr_id`` or ``aux_id``) that the node map contradicts for many types of this workflow.

    A type contradicts a stamp when the map lists it, but not under the stamped pack nor under a pack
    whose repository name is the stamp's own name extended (a fork family: ``ComfyUI-FramePackWrapper``
    and ``ComfyUI-FramePackWrapper_Plus``, ``ComfyUI_PuLID_Flux_ll`` and ``ComfyUI-PuLID-Flux-Chroma``),
    or it is a core node and the stamp is not ``comfy-core``. A tool that re-stamps every node with its
    own id shows up as one value contradicted for most of the types it stamps.
    """
    stamped: dict[str, set[str]] = {}
    first: dict[str, str] = {}
    for node in nodes:
        for value in (node.cnr_id, node.aux_id):
            if value and value != CORE_ID:
                stamped.setdefault(value, set()).add(node.type)
                first.setdefault(value, node.id)
    suspect: set[str] = set()
    warnings = []
    for value, types in stamped.items():
        named = stamp_packs(value, node_map)
        known = contradicted = 0
        for node_type in types:
            listers = node_map.packs_for(node_type)
            if node_type in core_types:
                known += 1
                contradicted += 1
            elif listers:
                known += 1
                contradicted += not any(p in named or same_stem(value, p.repo_name) for p in listers)
        if contradicted >= SUSPECT_MIN_TYPES and contradicted > SUSPECT_SHARE * known:
            suspect.add(value)
            warnings.append(ReportWarning(
                "stamp_suspect",
                f"the stamp {value!r} is on {len(types)} node types, and ComfyUI-Manager's map puts {contradicted} "
                f"of them in other packs (a tool that re-stamps nodes?); it is weighed as a hint, not as the pack",
                first[value],
            ))
    return suspect, warnings


def stamp_packs(value: str, node_map: NodeMap) -> list[Pack]:
    """Catalog packs a stamp may name: the one it names exactly, those of the same repository name, and the
    pack whose ComfyUI-Manager id the stamp is (evidence of identity only, never sent to the registry)."""
    name = value.rsplit("/", 1)[-1]
    exact = node_map.pack_by_registry_id(value) if "/" not in value else node_map.pack_by_url(f"https://github.com/{value}")
    family = node_map.family(exact) if exact is not None else node_map.family_packs(name)
    named = [*([exact] if exact is not None else []), *family]
    managed = node_map.pack_by_manager_id(value) if "/" not in value else None
    named += [managed] if managed is not None and managed not in named else []
    return [*named, *(p for p in packs_named(name, node_map) if p not in named)]


def same_stem(stamp: str, repo_name: str) -> bool:
    """Whether two repository names share most of their stem (a fork family): the common start of their
    undecorated names is at least 6 characters and 60% of the shorter name.

        >>> same_stem("kijai/ComfyUI-FramePackWrapper", "comfyui-framepackwrapper_plus")
        True
        >>> same_stem("comfyui-workflow-encrypt", "comfyui-kjnodes")
        False
    """
    a, b = name_key(stamp.rsplit("/", 1)[-1]), name_key(repo_name)
    common = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return common >= max(SAME_STEM_MIN, SAME_STEM_SHARE * min(len(a), len(b)))


def paired_stamps(nodes: list[WorkflowNode]) -> list[WorkflowNode]:
    """Nodes stamped with a ``cnr_id`` alone get the ``aux_id`` another node of the workflow pairs it with.

    The editor writes both stamps from the same pack's metadata, so one node carrying ``cnr_id: X`` and
    ``aux_id: owner/repo`` says which repository X is, for every node of X (when the pairing is unique).
    """
    pairs: dict[str, set[str]] = {}
    for node in nodes:
        if node.cnr_id and node.aux_id and node.cnr_id != CORE_ID:
            pairs.setdefault(node.cnr_id, set()).add(node.aux_id)
    unique = {cnr: next(iter(auxes)) for cnr, auxes in pairs.items() if len(auxes) == 1}
    if not unique:
        return nodes
    return [dataclasses.replace(n, aux_id=unique[n.cnr_id]) if n.cnr_id in unique and not n.aux_id else n
            for n in nodes]
