"""ComfyUI-Manager's other channels: packs in development (``dev``) and retired packs (``legacy``).

Manager serves more than its default channel: ``node_db/dev/`` lists packs in development (a node map,
a pack list and stars of their own), ``node_db/legacy/`` lists deprecated and removed packs. Both are
optional catalogs (``store.CHANNEL_FILES``); what they add to the default node map:

- ``dev``: packs and node names the default channel does not list. A dev listing is weaker evidence
  than any default listing and never ``auto`` (``resolve/nodes.py``, evidence ``dev``). A dev pack is
  the default channel's pack only when the default lists the very same repository: never by name.
- ``legacy``: a pack marked deprecated (``[DEPRECATED]``, ``[NOT MAINTAINED]``, ``[LEGACY]``) whose
  repository name is that of exactly one default-channel pack under another owner is *replaced* by it:
  ``WASasquatch/was-node-suite-comfyui`` ("WAS Node Suite [DEPRECATED]") by ``ltdrdata/was-node-suite-comfyui``,
  which says it replaces the retired original. A pack marked removed, unsafe or a name conflict shares
  only a name with the default pack (another project): never a replacement.

    >>> nm = NodeMap.from_data({"https://github.com/new/Suite": [["Foo"], {}]})
    >>> record_legacy(nm, [{"reference": "https://github.com/old/Suite", "title": "Suite [DEPRECATED]"}])
    1
    >>> nm.replaced["https://github.com/old/suite"].repository
    'https://github.com/new/suite'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..installed_packs import normalise_repo_url
from .node_map import NodeMap, Pack

DEPRECATED = re.compile(r"\[\s*(?:DEPRECATED|NOT MAINTAINED|LEGACY)\s*\]", re.IGNORECASE)
#: a retired pack that shares only a name with a listed one: removed, unsafe, or removed for the name conflict
NOT_A_SUCCESSOR = re.compile(r"REMOVED|UNSAFE|NAME CONFLICT", re.IGNORECASE)


def attach_dev(node_map: NodeMap, dev: NodeMap) -> NodeMap:
    """Mark the dev channel's packs the default does not list, keep its map beside the default one; return it."""
    for pack in dev.packs.values():
        if _default_pack(node_map, pack) is None:
            pack.channel = "dev"
    node_map.dev = dev
    return dev


def _default_pack(node_map: NodeMap, pack: Pack) -> Pack | None:
    """The default channel's pack for a dev pack: one of its very URLs, never a same-name pack."""
    return next((found for u in sorted(pack.aliases) if (found := node_map.pack_at(u)) is not None), None)


def dev_packs_for(node_map: NodeMap, node_type: str) -> list[Pack]:
    """Packs the dev channel lists for the type (as the default channel's pack when it lists that repository)."""
    if node_map.dev is None:
        return []
    return [_default_pack(node_map, p) or p for p in node_map.dev.packs_for(node_type)]


def dev_pack(node_map: NodeMap, url: str) -> Pack | None:
    """The dev channel's pack for exactly this repository URL (a stamp naming a pack in development)."""
    if node_map.dev is None:
        return None
    pack = node_map.dev.pack_at(url)
    return pack if pack is not None and pack.channel == "dev" else None


def record_legacy(node_map: NodeMap, node_list: Iterable[Mapping[str, Any]]) -> int:
    """Keep the legacy channel's packs the default does not list; record replacements. Returns how many."""
    replaced = 0
    for entry in node_list:
        reference, title = entry.get("reference"), str(entry.get("title") or "")
        if not isinstance(reference, str) or not reference.startswith("https://github.com/"):
            continue
        url = normalise_repo_url(reference)
        if node_map.pack_at(url) is not None or url in node_map.legacy:
            continue
        pack = Pack(repository=url, title=title or url.rsplit("/", 1)[-1], aliases={url}, url=reference,
                    author=entry.get("author"), description=entry.get("description"), channel="legacy")
        node_map.legacy[url] = pack
        family = node_map.family_packs(pack.repo_name)
        if DEPRECATED.search(title) and not NOT_A_SUCCESSOR.search(title) and len(family) == 1:
            family[0].replaces[url] = title
            node_map.replaced[url] = family[0]
            replaced += 1
    return replaced
