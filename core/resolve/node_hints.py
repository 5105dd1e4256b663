"""Where a node type the map does not list may come from: editor-only nodes of known packs, and names.

Two sources the node map cannot give, both weaker than any map hit:

- editor-only (virtual) nodes: a pack's JavaScript registers them (KJNodes' ``SetNode``/``GetNode``,
  rgthree's group muters); the server never lists them, the map (built from Python) does not know them.
  ``data/frontend_nodes.json`` names their packs.
- names: a type whose name carries a pack's name, as a suffix in brackets (``Lora Loader (LoraManager)``)
  or after ``//`` (``ListCounter //Inspire``), or whole (``LTXDimensionCalculator`` of
  ``ComfyUI-LTXDimensionCalculator``), compared without case,
  punctuation and the usual ``ComfyUI``/``nodes`` decorations; else a family of names: the longest
  leading part of the name (cut where a word starts: ``LTXV|Add|Latents``, ``Trellis2|Process``; at
  least four characters and not one plain word such as ``Load``) that
  at least ``FAMILY_MIN`` types of one pack share, that pack holding ``FAMILY_LEAD`` times as many
  of them as any other (a newer node of the same pack) and starred ``FAMILY_MIN_STARS`` times; else, the
  same for the longest trailing part (``…|MultiGPU``, where a word starts in the pack's names too). A part
  that is a node name of ComfyUI's own (``CheckpointLoader|NF4``) is no family. A hint, never ``auto``;
  its reason says what in the name points at the pack.

    >>> name_key("ComfyUI-Lora-Manager"), name_key("comfy_mtb"), name_key("rgthree-comfy")
    ('loramanager', 'mtb', 'rgthree')
"""

from __future__ import annotations

import bisect
import json
import re
import weakref
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..catalog.node_map import NodeMap, Pack

FAMILY_MIN = 3  # a name family is this many types of one pack sharing a leading part
FAMILY_LEAD = 2  # ... and at least this many times as many as any other pack (copies aside)
FAMILY_MIN_STARS = 3  # ... and starred at least this often (when the catalogs know stars): a family of a pack
# nobody uses is as likely a coincidence of names, and a weak hint to it should not lead
_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|[_ \-]")
_PLAIN_WORD = re.compile(r"^[A-Z]?[a-z]+$")
_DECORATION = re.compile(r"^(?:comfyui|comfy)|(?:comfyui|comfy|customnodes|nodes|node|pack|suite)$")
_BRACKETED = re.compile(r"(?:[(\[]([^()\[\]]{2,40})[)\]]|\s//\s*([A-Za-z][\w-]{1,39}))\s*$")
_KEYS: weakref.WeakKeyDictionary[NodeMap, dict[str, list[Pack]]] = weakref.WeakKeyDictionary()
_REPO_KEYS: weakref.WeakKeyDictionary[NodeMap, dict[str, list[Pack]]] = weakref.WeakKeyDictionary()
_NAMES: weakref.WeakKeyDictionary[NodeMap, dict[bool, tuple[list[str], list[Pack]]]] = weakref.WeakKeyDictionary()


def name_key(name: str) -> str:
    """A name without case, punctuation and ComfyUI decorations (repeatedly: ``ComfyUI-Foo-Nodes`` -> ``foo``)."""
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    while (stripped := _DECORATION.sub("", key)) != key and stripped:
        key = stripped
    return key


@cache
def _frontend_nodes() -> dict[str, str]:
    path = Path(__file__).resolve().parents[1] / "data" / "frontend_nodes.json"
    return json.loads(path.read_text(encoding="utf-8"))["nodes"]


def frontend_pack(node_type: str, node_map: NodeMap) -> Pack | None:
    """The pack that implements ``node_type`` in the editor only, when it is one of the known ones."""
    url = _frontend_nodes().get(node_type)
    return node_map.pack_by_url(url) if url else None


def _keys(node_map: NodeMap, *, titles: bool = True) -> dict[str, list[Pack]]:
    """Packs by ``name_key`` of their repository name (and, with ``titles``, of their title too)."""
    cache = _KEYS if titles else _REPO_KEYS
    keys = cache.get(node_map)
    if keys is None:
        keys = {}
        for pack in node_map.packs.values():
            for name in {pack.repo_name, pack.title} if titles else {pack.repo_name}:
                key = name_key(name or "")
                if len(key) >= 3:
                    keys.setdefault(key, []).append(pack)
        cache[node_map] = keys
    return keys


def packs_named(name: str, node_map: NodeMap) -> list[Pack]:
    """Packs whose repository name is ``name`` up to case, punctuation and ComfyUI decorations (a registry id
    such as ``seedvr2_videoupscaler`` names ``ComfyUI-SeedVR2_VideoUpscaler``), most starred first."""
    return sorted(_keys(node_map, titles=False).get(name_key(name), ()), key=lambda p: (-p.stars, p.order))


@dataclass(frozen=True)
class NameHint:
    """A pack a node's name points at, and how, in words a user can check (``its name begins "LTXV", like 41
    of this pack's nodes``)."""

    pack: Pack
    how: str


def name_hints(node_type: str, node_map: NodeMap) -> list[NameHint]:
    """Packs whose name the type carries, else the pack of its name family (``family_hint``); most starred first."""
    return name_hint_packs(node_type, node_map) or [h for h in [family_hint(node_type, node_map)] if h]


def name_hint_packs(node_type: str, node_map: NodeMap) -> list[NameHint]:
    """Packs whose name the type carries (bracketed suffix, or the whole name), most starred first."""
    bracketed = _BRACKETED.search(node_type)
    wanted = [(name_key(bracketed.group(1) or bracketed.group(2)),
               f"its name ends \u201c{bracketed.group(0).strip()}\u201d, this pack's name")] if bracketed else []
    wanted.append((name_key(node_type), "its name is this pack's name"))
    keys = _keys(node_map)
    found: dict[Pack, str] = {}
    for key, how in wanted:
        for pack in keys.get(key, ()):
            if pack not in found and not pack.is_core:
                found[pack] = how
    return [NameHint(p, found[p]) for p in sorted(found, key=lambda p: (-p.stars, p.order))]


def _sorted_names(node_map: NodeMap, *, reverse: bool = False) -> tuple[list[str], list[Pack]]:
    """Every non-core name with its pack, sorted (``reverse``: sorted by the name spelt backwards, for endings)."""
    found = _NAMES.get(node_map, {}).get(reverse)
    if found is None:
        pairs = sorted(((name[::-1] if reverse else name, pack) for pack in node_map.packs.values()
                        if not pack.is_core for name in pack.node_types), key=lambda pair: pair[0])
        found = ([n for n, _ in pairs], [p for _, p in pairs])
        _NAMES.setdefault(node_map, {})[reverse] = found
    return found


def family_packs(node_type: str, node_map: NodeMap) -> list[Pack]:
    """The pack of ``node_type``'s name family (see ``family_hint``), as a list."""
    hint = family_hint(node_type, node_map)
    return [hint.pack] if hint else []


def family_hint(node_type: str, node_map: NodeMap) -> NameHint | None:
    """The pack whose names share the longest leading part with ``node_type``, else the longest trailing part
    (``UnetLoaderGGUFDisTorchMultiGPU`` -> the pack of most ``…MultiGPU`` names; see the module docstring).

    A trailing part counts only where a word starts in the listed name too (``setNode`` is not a family of
    ``CharacterPresetNode``), and a part that is a node name of ComfyUI's own (``CheckpointLoader``) is
    ComfyUI's naming, not a pack's.
    """
    cuts = [m.start() for m in _WORD_START.finditer(node_type)]
    heads = [node_type[:cut] for cut in reversed(cuts) if cut >= 4]
    tails = [node_type[cut:].lstrip("_ -") for cut in cuts if len(node_type) - cut >= 4]
    core = node_map.core_types()
    for parts, reverse in ((heads, False), (tails, True)):
        names, packs = _sorted_names(node_map, reverse=reverse)
        for part in parts:
            if len(part) < 4 or _PLAIN_WORD.match(part) or _core_naming(part, core):
                continue  # "Load", "Image", "Loader": a word many packs begin or end names with, not a family
            wanted = part[::-1] if reverse else part
            lo = bisect.bisect_left(names, wanted)
            hi = bisect.bisect_left(names, wanted + "\U0010ffff")
            listers = [packs[i] for i in range(lo, hi) if not reverse or _word_starts_at(names[i][::-1], len(part))]
            best = _family_lead(listers)
            if best is not None and (best.stars >= FAMILY_MIN_STARS or not _stars_known(node_map)):
                n = listers.count(best)
                where = "ends" if reverse else "begins"
                return NameHint(best, f"its name {where} \u201c{part}\u201d, like {n} of this pack's nodes")
    return None


def _stars_known(node_map: NodeMap) -> bool:
    return any(p.stars for p in node_map.packs.values())


def _word_starts_at(name: str, tail: int) -> bool:
    """Whether a word starts where the last ``tail`` characters of ``name`` begin (``Preset|Node``: no)."""
    cut = len(name) - tail
    return cut == 0 or any(m.start() == cut or m.end() == cut for m in _WORD_START.finditer(name))


def _core_naming(part: str, core: set[str]) -> bool:
    """Whether ``part`` is a node name of ComfyUI's own: ``CheckpointLoaderNF4`` extends ``CheckpointLoader``, as
    any pack may, which says nothing about which."""
    return part in core


def _family_lead(listers: list[Pack]) -> Pack | None:
    """The original pack holding at least ``FAMILY_MIN`` of the names, ``FAMILY_LEAD`` times any other's."""
    if len(listers) < FAMILY_MIN:
        return None
    originals = {p: n for p, n in Counter(listers).items() if not p.is_copy}
    if not originals:
        return None
    ranked = sorted(originals.items(), key=lambda kv: (-kv[1], -kv[0].stars))
    (best, n), runner_up = ranked[0], (ranked[1][1] if len(ranked) > 1 else 0)
    return best if n >= FAMILY_MIN and n >= FAMILY_LEAD * runner_up else None
