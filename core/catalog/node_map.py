"""ComfyUI-Manager's node map with the pack list and stars: which packs provide a node type.

Semantics follow Manager's ``extension-node-map.json``: exact node names per pack URL,
``nodename_pattern`` regexes for packs whose names are generated, and ``preemptions`` by which
a pack claims a name as its own. Packs are identified across renames and forks: every URL a pack
is known by (map key, ``reference``, ``files``) resolves to one ``Pack``.

    >>> nm = NodeMap.from_data({"https://github.com/a/Pack": [["Foo"], {"title_aux": "Pack"}]})
    >>> [p.repository for p in nm.packs_for("Foo")]
    ['https://github.com/a/pack']
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..installed_packs import normalise_repo_url

CORE_REPOSITORY = "https://github.com/comfyanonymous/comfyui"


@contextmanager
def paused_gc() -> Iterator[None]:
    """Building 50k small objects triggers the cyclic GC dozens of times for nothing: pause it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(eq=False)
class Pack:
    """A node pack as the catalogs know it."""

    repository: str  # normalised URL, the pack's identity
    title: str
    id: str | None = None  # Comfy Registry id, when known
    author: str | None = None
    description: str | None = None
    install_type: str = "git-clone"
    files: list[str] = field(default_factory=list)
    aliases: set[str] = field(default_factory=set)  # other normalised URLs of the same pack
    stars: int = 0
    last_update: str | None = None
    node_types: set[str] = field(default_factory=set)
    pattern: re.Pattern | None = None
    preemptions: set[str] = field(default_factory=set)

    @property
    def repo_name(self) -> str:
        return self.repository.rsplit("/", 1)[-1]

    @property
    def is_core(self) -> bool:
        return self.repository == CORE_REPOSITORY

    def to_json(self) -> dict:
        return {
            "id": self.id or self.repo_name,
            "cnr_id": self.id,
            "title": self.title,
            "repository": self.repository,
            "aliases": sorted(self.aliases - {self.repository}),
            "author": self.author,
            "install_type": self.install_type,
            "files": self.files,
            "stars": self.stars,
            "description": self.description,
        }


class NodeMap:
    """Node type -> packs, built once from the catalogs and kept in memory."""

    def __init__(self) -> None:
        self.packs: dict[str, Pack] = {}  # by normalised repository URL
        self._by_url: dict[str, Pack] = {}  # every alias -> pack
        self._by_id: dict[str, Pack] = {}  # registry id and lower-case repo name -> pack
        self._exact: dict[str, list[Pack]] = {}
        self._preempted: dict[str, Pack] = {}
        self._patterns: list[Pack] = []

    @classmethod
    def from_data(
        cls,
        node_map: Mapping[str, Any],
        node_list: Iterable[Mapping[str, Any]] = (),
        stats: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> NodeMap:
        with paused_gc():
            return cls()._build(node_map, node_list, stats)

    def _build(
        self,
        node_map: Mapping[str, Any],
        node_list: Iterable[Mapping[str, Any]],
        stats: Mapping[str, Mapping[str, Any]] | None,
    ) -> NodeMap:
        for entry in node_list:
            self._add_list_entry(entry)
        for url, value in node_map.items():
            if not isinstance(value, list) or len(value) < 2:
                continue
            names, meta = value[0], value[1] if isinstance(value[1], dict) else {}
            pack = self._pack_for_url(url, meta.get("title_aux") or meta.get("title"))
            for name in names:
                if isinstance(name, str) and name not in pack.node_types:
                    pack.node_types.add(name)
                    self._exact.setdefault(name, []).append(pack)
            if meta.get("nodename_pattern"):
                try:
                    pack.pattern = re.compile(meta["nodename_pattern"])
                    self._patterns.append(pack)
                except re.error:
                    pass
            for name in meta.get("preemptions") or []:
                pack.preemptions.add(name)
                self._preempted[name] = pack
            pack.author = pack.author or meta.get("author")
        for url, info in (stats or {}).items():
            pack = self._by_url.get(normalise_repo_url(url))
            if pack is not None and isinstance(info, Mapping):
                pack.stars = max(pack.stars, int(info.get("stars") or 0))
                pack.last_update = pack.last_update or info.get("last_update")
        for pack in self.packs.values():
            self._by_id.setdefault(pack.repo_name, pack)
        return self

    def _add_list_entry(self, entry: Mapping[str, Any]) -> None:
        reference = entry.get("reference")
        if not isinstance(reference, str):
            return
        urls = [reference, *[f for f in entry.get("files") or [] if isinstance(f, str)]]
        keys = [normalise_repo_url(u) for u in urls if u.startswith(("http://", "https://"))]
        known = next((self._by_url[k] for k in keys if k in self._by_url), None)
        pack = known or self._pack_for_url(reference, entry.get("title"))
        for key in keys:
            if not key.endswith((".py", ".js", ".zip")):
                pack.aliases.add(key)
                self._by_url.setdefault(key, pack)
        pack.title = entry.get("title") or pack.title
        pack.author = entry.get("author") or pack.author
        pack.description = entry.get("description") or pack.description
        pack.install_type = str(entry.get("install_type") or pack.install_type).lower()
        pack.files = [f for f in entry.get("files") or [] if isinstance(f, str)]
        if isinstance(entry.get("id"), str):
            pack.id = entry["id"]
            self._by_id[entry["id"].lower()] = pack

    def _pack_for_url(self, url: str, title: str | None) -> Pack:
        key = normalise_repo_url(url)
        pack = self._by_url.get(key)
        if pack is None:
            pack = Pack(repository=key, title=title or key.rsplit("/", 1)[-1])
            self.packs[key] = pack
            self._alias(pack, url)
        return pack

    def _alias(self, pack: Pack, url: str) -> None:
        key = normalise_repo_url(url)
        pack.aliases.add(key)
        self._by_url.setdefault(key, pack)

    # -- look-ups ---------------------------------------------------------------------------
    def pack_by_url(self, url: str) -> Pack | None:
        return self._by_url.get(normalise_repo_url(url))

    def pack_by_id(self, pack_id: str) -> Pack | None:
        """A registry id (``comfyui-kjnodes``) or a repository name, case-insensitive."""
        return self._by_id.get(pack_id.lower())

    def pack_by_aux_id(self, aux_id: str) -> Pack | None:
        """``owner/repo`` as the frontend stores it; a fork or rename falls back to the repo name."""
        return self.pack_by_url(f"https://github.com/{aux_id}") or self.pack_by_id(aux_id.rsplit("/", 1)[-1])

    def core_types(self) -> set[str]:
        core = self.packs.get(CORE_REPOSITORY)
        return set(core.node_types) if core else set()

    def preempted_by(self, node_type: str) -> Pack | None:
        return self._preempted.get(node_type)

    def exact(self, node_type: str) -> list[Pack]:
        return self._exact.get(node_type, [])

    def by_pattern(self, node_type: str) -> list[Pack]:
        return [p for p in self._patterns if p.pattern is not None and p.pattern.search(node_type)]

    def packs_for(self, node_type: str) -> list[Pack]:
        """Every pack that may provide the type: the preempting owner alone, else exact hits and patterns."""
        owner = self.preempted_by(node_type)
        if owner is not None:
            return [owner]
        found = list(self.exact(node_type))
        found.extend(p for p in self.by_pattern(node_type) if p not in found)
        return found

    def __len__(self) -> int:
        return len(self._exact)
