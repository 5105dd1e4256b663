"""ComfyUI-Manager's node map with the pack list and stars: which packs provide a node type.

Semantics follow Manager's ``extension-node-map.json``: exact node names per pack URL,
``nodename_pattern`` regexes for packs whose names are generated, and ``preemptions`` by which
a pack claims a name as its own. Packs are identified across renames and forks: every URL a pack
is known by (map key, ``reference``, ``files``) resolves to one ``Pack``, and a GitHub URL the
catalogs do not know falls back to the pack of the same repository name (a fork or a renamed owner).

Many names are listed by several packs, mostly because one pack copied (or forked) another. For those
names the map also knows an *origin*: the pack that most likely wrote the node (see ``_authority``),
and every pack knows how many of its names it shares with an origin elsewhere (``copied``).

    >>> nm = NodeMap.from_data({"https://github.com/a/Pack": [["Foo"], {"title_aux": "Pack"}]})
    >>> [p.repository for p in nm.packs_for("Foo")]
    ['https://github.com/a/pack']
"""

from __future__ import annotations

import gc
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..installed_packs import normalise_repo_url
from .comfy_core import CORE_REPOSITORIES, is_core_id

CORE_REPOSITORY = "https://github.com/comfyanonymous/comfyui"
UNLISTED = 1 << 30  # registration order of a pack the node list does not hold
_OWNER = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38})$")  # a GitHub owner's shape (lower case)
COPY_SHARE = 0.5  # a pack more than half of whose names originate in older packs is a copy (fork, aggregator)


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


def _norm(url: str) -> str:
    """``normalise_repo_url`` with a fast path for the common already-clean GitHub URL (35k calls a load)."""
    low = url.lower()
    if low.startswith("https://github.com/") and not low.endswith(("/", ".git")) and low.strip() == low:
        return low
    return normalise_repo_url(url)


@dataclass(eq=False)
class Pack:
    """A node pack as the catalogs know it."""

    repository: str  # normalised URL, the pack's identity
    title: str
    id: str | None = None  # Comfy Registry id, when known (from the registry's list or a node's cnr_id)
    manager_id: str | None = None  # ComfyUI-Manager's own id (``vhs``): never sent to the registry
    author: str | None = None
    description: str | None = None
    install_type: str = "git-clone"
    files: list[str] = field(default_factory=list)
    aliases: set[str] = field(default_factory=set)  # other normalised URLs of the same pack
    stars: int = 0
    last_update: str | None = None
    account_age_days: int = 0  # of the GitHub owner
    order: int = UNLISTED  # position in Manager's node list: registration order, so lower is older
    node_types: set[str] = field(default_factory=set)
    pattern: re.Pattern | None = None
    preemptions: set[str] = field(default_factory=set)
    copied: int = 0  # names this pack lists whose origin is another pack
    copy_of: Pack | None = None  # the pack most of those come from, when they are most of this pack
    registry: dict | None = None  # the registry's record: status, latest version, compatibility fields
    url: str | None = None  # the repository URL as the catalog spells it (case, scheme): what git clones
    moved_from: set[str] = field(default_factory=set)  # former URLs the catalog records (``_record_moves``)
    channel: str = "default"  # ``dev``/``legacy``: only that channel of ComfyUI-Manager lists it (``channels``)
    replaces: dict[str, str] = field(default_factory=dict)  # deprecated URL -> its legacy title (``channels``)

    @property
    def repo_name(self) -> str:
        return self.repository.rsplit("/", 1)[-1]

    @property
    def is_core(self) -> bool:
        """ComfyUI itself (its repository or registry id): never a pack to install."""
        return self.repository in CORE_REPOSITORIES or is_core_id(self.id)  # ``repository`` is normalised

    @property
    def is_copy(self) -> bool:
        return self.copy_of is not None

    def to_json(self) -> dict:
        return {
            "id": self.id or self.repo_name,
            "cnr_id": self.id,
            "manager_id": self.manager_id,
            "title": self.title,
            "repository": self.repository,
            "aliases": sorted(self.aliases - {self.repository}),
            "author": self.author,
            "install_type": self.install_type,
            "files": self.files,
            "stars": self.stars,
            "description": self.description,
            "copy_of": self.copy_of.repository if self.copy_of else None,
        }


def _authority(pack: Pack) -> tuple:
    """Who most likely wrote a name several packs list: the most-starred pack, then the one registered first.

    Stars lead because copies are almost always far less starred than their source; registration
    order breaks ties (the source was listed before the copy).
    """
    return (-pack.stars, pack.order, pack.repository)


_DEV_LOCK = threading.RLock()


class NodeMap:
    """Node type -> packs, built once from the catalogs and kept in memory."""

    def __init__(self) -> None:
        self.packs: dict[str, Pack] = {}  # by normalised repository URL
        self._by_url: dict[str, Pack] = {}  # every alias -> pack
        self._by_id: dict[str, Pack] = {}  # registry id -> pack
        self._by_manager_id: dict[str, Pack] = {}  # ComfyUI-Manager id -> pack
        self._by_name: dict[str, list[Pack]] = {}  # lower-case repository name -> packs (a fork family)
        self._exact: dict[str, Pack | list[Pack]] = {}  # a bare Pack when one pack lists the name
        self._preempted: dict[str, Pack] = {}
        self._patterns: list[Pack] = []
        self._origin: dict[str, Pack] = {}  # names listed by several packs -> the likely author
        self._dev: NodeMap | None = None  # ComfyUI-Manager's dev channel, a map of its own (``channels``)
        self._dev_loader: Callable[[], NodeMap | None] | None = None
        self.legacy: dict[str, Pack] = {}  # URL -> a retired pack only the legacy channel lists
        self.replaced: dict[str, Pack] = {}  # a deprecated pack's URL -> the default pack that replaces it

    @property
    def dev(self) -> NodeMap | None:
        """The dev channel's map, built on first use: most analyses never need it (it costs ~20% of a load)."""
        if self._dev_loader is not None:
            with _DEV_LOCK:  # analyses in threads must not see it half built
                if self._dev_loader is not None:
                    self._dev = self._dev_loader()
                    self._dev_loader = None
        return self._dev

    @dev.setter
    def dev(self, value: NodeMap | None) -> None:
        self._dev = value

    def dev_later(self, loader: Callable[[], NodeMap | None]) -> None:
        """Build the dev channel's map with ``loader`` when it is first asked for."""
        self._dev, self._dev_loader = None, loader

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
        for order, entry in enumerate(node_list):
            self._add_list_entry(entry, order)
        exact = self._exact
        for url, value in node_map.items():
            if not isinstance(value, list) or len(value) < 2:
                continue
            names, meta = value[0], value[1] if isinstance(value[1], dict) else {}
            pack = self._pack_for_url(url, meta.get("title_aux") or meta.get("title"))
            fresh = {n for n in names if isinstance(n, str)} - pack.node_types
            pack.node_types |= fresh
            for name in fresh:
                # one pack per name is the rule: store it bare, a list only when several packs share the name
                hits = exact.get(name)
                if hits is None:
                    exact[name] = pack
                elif type(hits) is list:
                    hits.append(pack)
                else:
                    exact[name] = [hits, pack]
            if meta.get("nodename_pattern"):
                self._set_pattern(pack, meta["nodename_pattern"])
            for name in meta.get("preemptions") or ():
                pack.preemptions.add(name)
                self._preempted[name] = pack
            pack.author = pack.author or meta.get("author")
        for url, info in (stats or {}).items():
            pack = self._by_url.get(_norm(url))
            if pack is not None and isinstance(info, Mapping):
                pack.stars = max(pack.stars, int(info.get("stars") or 0))
                pack.last_update = pack.last_update or info.get("last_update")
                pack.account_age_days = int(info.get("author_account_age_days") or pack.account_age_days)
        for pack in self.packs.values():
            self._by_name.setdefault(pack.repo_name, []).append(pack)
        self._record_moves()
        for family in self._by_name.values():
            family.sort(key=_authority)
        self._find_origins()
        return self

    def _find_origins(self) -> None:
        """For each name several packs list, its likely author; then which packs are copies of another.

        A pack is a copy when most of its names originate in packs registered before it. A preemption
        is Manager's statement of ownership and makes the claimant the origin, unless the claimant is
        itself such a copy (a fork claiming the names of the pack it forked).
        """
        sources: dict[int, dict[int, int]] = {}  # id(copying pack) -> id(origin) -> names
        for name, packs in self._exact.items():
            if type(packs) is not list:
                continue
            origin = min(packs, key=_authority)
            self._origin[name] = origin
            for pack in packs:
                if pack is not origin and not pack.is_core and origin.order < pack.order:
                    pack.copied += 1
                    per = sources.setdefault(id(pack), {})
                    per[id(origin)] = per.get(id(origin), 0) + 1
        by_id = {id(p): p for p in self.packs.values()}
        for key, per in sources.items():
            pack = by_id[key]
            if pack.copied > COPY_SHARE * len(pack.node_types):
                pack.copy_of = by_id[max(per, key=per.__getitem__)]
        for name, owner in self._preempted.items():
            if name in self._origin and not owner.is_copy:
                self._origin[name] = owner

    def _record_moves(self) -> None:
        """The pack's repository under its recorded author is the same pack: the catalog records a move.

        Manager's list keeps a pack's ``author`` when its repository changes owner (``nunchaku-tech/ComfyUI-nunchaku``,
        author ``mit-han-lab``): a stamp naming ``author/repo`` names this pack (GitHub redirects a moved
        repository). Only when that URL is no pack of its own, and the author has the shape of a GitHub owner.
        """
        for pack in list(self.packs.values()):
            author = (pack.author or "").lower()
            if not pack.repository.startswith("https://github.com/") or not _OWNER.match(author):
                continue
            owner = pack.repository.split("/")[3]
            former = f"https://github.com/{author}/{pack.repo_name}"
            if author != owner and former not in self._by_url:
                pack.aliases.add(former)
                pack.moved_from.add(former)
                self._by_url[former] = pack

    def _set_pattern(self, pack: Pack, pattern: str) -> None:
        if pack.pattern is not None:
            return
        try:
            pack.pattern = re.compile(pattern)
        except re.error:
            return
        self._patterns.append(pack)

    def _add_list_entry(self, entry: Mapping[str, Any], order: int) -> None:
        reference = entry.get("reference")
        if not isinstance(reference, str):
            return
        files = [f for f in entry.get("files") or () if isinstance(f, str)]
        # ``files`` nearly always repeats ``reference``: normalise each distinct URL once
        urls = [reference, *(f for f in files if f != reference)]
        keys = [_norm(u) for u in urls if u.startswith(("http://", "https://"))]
        known = next((self._by_url[k] for k in keys if k in self._by_url), None)
        pack = known or self._pack_for_url(reference, entry.get("title"))
        for key in keys:
            if not key.endswith((".py", ".js", ".zip")):
                pack.aliases.add(key)
                self._by_url.setdefault(key, pack)
        pack.order = min(pack.order, order)
        pack.url = pack.url or reference
        pack.title = entry.get("title") or pack.title
        pack.author = entry.get("author") or pack.author
        pack.description = entry.get("description") or pack.description
        pack.install_type = str(entry.get("install_type") or pack.install_type).lower()
        pack.files = files
        if isinstance(entry.get("id"), str):  # Manager's id, not the registry's (``vhs`` is not a registry id)
            pack.manager_id = entry["id"]
            self._by_manager_id.setdefault(entry["id"].lower(), pack)
        if isinstance(entry.get("nodename_pattern"), str):
            self._set_pattern(pack, entry["nodename_pattern"])

    def _pack_for_url(self, url: str, title: str | None) -> Pack:
        key = _norm(url)
        pack = self._by_url.get(key)
        if pack is None:
            pack = Pack(repository=key, title=title or key.rsplit("/", 1)[-1], aliases={key},
                        url=url if url.startswith(("https://", "http://")) else None)
            self.packs[key] = pack
            self._by_url[key] = pack
        return pack

    # -- look-ups ---------------------------------------------------------------------------
    def pack_by_url(self, url: str) -> Pack | None:
        """The pack a URL names; an unknown GitHub URL (a fork, a renamed owner) resolves by repository name."""
        key = _norm(url)
        pack = self._by_url.get(key)
        if pack is None and key.startswith("https://github.com/") and key.count("/") == 4:
            pack = self.family_head(key.rsplit("/", 1)[-1])
        return pack

    def pack_at(self, url: str) -> Pack | None:
        """The pack known by exactly this URL (no fallback to a same-name fork)."""
        return self._by_url.get(_norm(url))

    def pack_by_id(self, pack_id: str) -> Pack | None:
        """A registry id (``comfyui-kjnodes``) or a repository name, case-insensitive (never Manager's id)."""
        key = pack_id.lower()
        return self._by_id.get(key) or self.family_head(key)

    def pack_by_registry_id(self, pack_id: str) -> Pack | None:
        """Only what the registry's own list says this id is (see ``attach_registry``)."""
        return self._by_id.get(pack_id.lower())

    def pack_by_manager_id(self, manager_id: str) -> Pack | None:
        """ComfyUI-Manager's ``id`` (``vhs``, ``ipadapter``): for reading Manager's data, not for the registry."""
        return self._by_manager_id.get(manager_id.lower())

    def attach_registry(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Give packs their registry ids from the registry's pack list (``registry_index``); returns how many.

        A record is joined to a pack by its repository URL (any URL the pack is known by, or a fork's
        repository name); a record whose repository no catalog lists becomes a pack of its own.
        """
        joined = 0
        with paused_gc():
            for record in records:
                pack_id = record.get("id")
                if not isinstance(pack_id, str) or not pack_id:
                    continue
                repo = record.get("repository")
                url = _norm(repo) if isinstance(repo, str) and repo.startswith(("http://", "https://")) else None
                pack = self._by_url.get(url) if url else None
                if pack is None:
                    pack = self._by_id.get(pack_id.lower())
                if pack is None:
                    key = url or f"registry:{pack_id}"
                    pack = Pack(repository=key, title=str(record.get("name") or pack_id), aliases={key},
                                install_type="cnr")
                    self.packs[key] = pack
                    self._by_url[key] = pack
                    self._by_name.setdefault(pack.repo_name, []).append(pack)
                else:
                    joined += 1
                pack.id = pack_id
                pack.registry = dict(record)
                self._by_id[pack_id.lower()] = pack
        return joined

    def pack_by_aux_id(self, aux_id: str) -> Pack | None:
        """``owner/repo`` as the frontend stores it; a fork or rename falls back to the repo name."""
        return self.pack_by_url(f"https://github.com/{aux_id}")

    def family(self, pack: Pack) -> list[Pack]:
        """Packs of the same repository name (forks, renamed owners), most authoritative first."""
        return self._by_name.get(pack.repo_name, [pack])

    def family_packs(self, repo_name: str) -> list[Pack]:
        """Packs whose repository is named ``repo_name`` (case-insensitive), most authoritative first."""
        return list(self._by_name.get(repo_name.lower(), ()))

    def family_head(self, repo_name: str) -> Pack | None:
        family = self._by_name.get(repo_name.lower())
        return family[0] if family else None

    def same_pack(self, pack: Pack, url: str) -> bool:
        """Whether ``url`` names ``pack``: one of its URLs, or a fork/rename of it (same repository name)."""
        return self.pack_by_url(url) is pack or _norm(url) in pack.aliases

    def core_types(self) -> set[str]:
        core = self.packs.get(CORE_REPOSITORY)
        return set(core.node_types) if core else set()

    def preempted_by(self, node_type: str) -> Pack | None:
        return self._preempted.get(node_type)

    def exact(self, node_type: str) -> list[Pack]:
        """Packs listing the name, in the map's order."""
        hits = self._exact.get(node_type)
        if hits is None:
            return []
        return list(hits) if type(hits) is list else [hits]

    def origin(self, node_type: str) -> Pack | None:
        """The likely author of a name several packs list (None when one pack or none lists it)."""
        return self._origin.get(node_type)

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
