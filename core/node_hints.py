"""Where a node type the map does not list may come from: editor-only nodes of known packs, and names.

Two sources the node map cannot give, both weaker than any map hit:

- editor-only (virtual) nodes: a pack's JavaScript registers them (KJNodes' ``SetNode``/``GetNode``,
  rgthree's group muters); the server never lists them, the map (built from Python) does not know them.
  ``data/frontend_nodes.json`` names their packs.
- names: a type whose name carries a pack's name, as a suffix in brackets (``Lora Loader (LoraManager)``)
  or whole (``LTXDimensionCalculator`` of ``ComfyUI-LTXDimensionCalculator``), compared without case,
  punctuation and the usual ``ComfyUI``/``nodes`` decorations. A hint, never ``auto``.

    >>> name_key("ComfyUI-Lora-Manager"), name_key("comfy_mtb"), name_key("rgthree-comfy")
    ('loramanager', 'mtb', 'rgthree')
"""

from __future__ import annotations

import json
import re
import weakref
from functools import cache
from pathlib import Path

from .catalog.node_map import NodeMap, Pack

_DECORATION = re.compile(r"^(?:comfyui|comfy)|(?:comfyui|comfy|customnodes|nodes|node|pack|suite)$")
_BRACKETED = re.compile(r"[(\[]([^()\[\]]{2,40})[)\]]\s*$")
_KEYS: weakref.WeakKeyDictionary[NodeMap, dict[str, list[Pack]]] = weakref.WeakKeyDictionary()


def name_key(name: str) -> str:
    """A name without case, punctuation and ComfyUI decorations (repeatedly: ``ComfyUI-Foo-Nodes`` -> ``foo``)."""
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    while (stripped := _DECORATION.sub("", key)) != key and stripped:
        key = stripped
    return key


@cache
def _frontend_nodes() -> dict[str, str]:
    path = Path(__file__).resolve().parent / "data" / "frontend_nodes.json"
    return json.loads(path.read_text(encoding="utf-8"))["nodes"]


def frontend_pack(node_type: str, node_map: NodeMap) -> Pack | None:
    """The pack that implements ``node_type`` in the editor only, when it is one of the known ones."""
    url = _frontend_nodes().get(node_type)
    return node_map.pack_by_url(url) if url else None


def _keys(node_map: NodeMap) -> dict[str, list[Pack]]:
    keys = _KEYS.get(node_map)
    if keys is None:
        keys = {}
        for pack in node_map.packs.values():
            for name in {pack.repo_name, pack.title}:
                key = name_key(name or "")
                if len(key) >= 3:
                    keys.setdefault(key, []).append(pack)
        _KEYS[node_map] = keys
    return keys


def name_hint_packs(node_type: str, node_map: NodeMap) -> list[Pack]:
    """Packs whose name the type carries (bracketed suffix, or the whole name), most starred first."""
    bracketed = _BRACKETED.search(node_type)
    wanted = [name_key(bracketed.group(1))] if bracketed else []
    wanted.append(name_key(node_type))
    keys = _keys(node_map)
    found: list[Pack] = []
    for key in wanted:
        for pack in keys.get(key, ()):
            if pack not in found and not pack.is_core:
                found.append(pack)
    return sorted(found, key=lambda p: (-p.stars, p.order))
