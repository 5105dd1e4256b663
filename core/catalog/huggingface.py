"""Hugging Face as a model source: find a file by name, confirm it exists, learn its sha256 and size.

Search goes by the file name's words (``/api/models?search=`` with the siblings expanded, most
downloaded first), then every repository the workflow already names is checked directly; a hit is
a sibling whose base name is the file name. The chosen files are confirmed with ``paths-info``,
which also gives the LFS sha256 and the size the download will verify against.

Ranking of hits: exact file name (case included), then a repository the workflow names, then an
author it names, then downloads, then likes. Results are cached in memory for ``MEND_HF_SEARCH_TTL``
seconds; a miss only for a minute, and a failed look-up not at all.

``huggingface_hub`` reads ``HF_ENDPOINT`` once at import; Mend passes the endpoint to ``HfApi``
itself, read when the source is created, so a mirror set later (or by a test) is honoured. All
calls are blocking (httpx): callers run them in threads (the ``a*`` methods do).
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from .. import constants
from ..connection_words import why_failed
from .source_policy import hf_endpoint

log = logging.getLogger(__name__)

SEARCH_LIMIT = 20  # repositories per search query
MAX_QUERIES = 2
MAX_CONFIRM = 5  # paths-info calls per file name
MISS_TTL = 60.0
#: file-name words that say nothing about which model it is
_NOISE = {"safetensors", "sft", "ckpt", "pt", "pth", "bin", "gguf", "fp16", "bf16", "fp32", "fp8", "e4m3fn",
          "e5m2", "scaled", "pruned", "emaonly", "ema", "model", "diffusion", "pytorch", "q4", "q8", "k", "m", "s"}
#: ``/{repo}/resolve|blob/{rev}/{path}``; a stray ``tree/`` before it (seen in shared workflows) is forgiven
_HF_PATH = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/(?:tree/)?(?:resolve|blob)/(?P<rev>[^/]+)/(?P<path>.+)$")


@dataclass(frozen=True)
class HfFile:
    repo_id: str
    path: str
    revision: str = "main"
    size: int | None = None
    sha256: str | None = None
    downloads: int = 0
    likes: int = 0
    details: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def url(self) -> str:
        """The canonical hub URL (a mirror is applied at download time, so manifests stay portable)."""
        return f"https://huggingface.co/{self.repo_id}/resolve/{self.revision}/{quote(self.path)}"

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


def parse_hf_url(url: str, endpoint: str | None = None) -> tuple[str, str, str] | None:
    """``(repo_id, revision, path)`` of a Hugging Face ``resolve`` or ``blob`` URL, else None.

    >>> parse_hf_url("https://huggingface.co/a/b/blob/main/split/x.safetensors?download=true")
    ('a/b', 'main', 'split/x.safetensors')
    >>> parse_hf_url("https://huggingface.co/a/b/tree/resolve/main/x.safetensors")
    ('a/b', 'main', 'x.safetensors')
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    hosts = {"huggingface.co", "hf.co", "www.huggingface.co", (urlsplit(endpoint or hf_endpoint()).hostname or "")}
    if (parts.hostname or "").lower() not in hosts:
        return None
    match = _HF_PATH.match(parts.path)
    if not match:
        return None
    return match["repo"], unquote(match["rev"]), unquote(match["path"])


def search_words(filename: str) -> list[str]:
    """Queries from a file name, most specific first: ``wan2.2_fun_inpaint_5B_bf16`` -> ``wan2.2 fun inpaint``,
    ``wan2.2``."""
    stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    words = [w for w in re.split(r"[_\-\s]+", stem) if len(w) > 1 and w.lower() not in _NOISE]
    queries = []
    for n in (3, 1):
        if len(words) >= n:
            q = " ".join(words[:n])
            if q not in queries:
                queries.append(q)
    return queries[:MAX_QUERIES]


class _TTLCache:
    def __init__(self) -> None:
        self._entries: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> tuple[bool, Any]:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, key: Any, value: Any, ttl: float) -> None:
        with self._lock:
            if len(self._entries) > 4096:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + ttl, value)


class HuggingFaceSource:
    """Look-ups against one endpoint (``HF_ENDPOINT`` or the hub), cached."""

    def __init__(self, endpoint: str | None = None, *, token: str | bool | None = None,
                 ttl: float | None = None, offline: bool | None = None) -> None:
        from huggingface_hub import HfApi

        self.endpoint = (endpoint or hf_endpoint()).rstrip("/")
        self.api = HfApi(endpoint=self.endpoint, token=token)
        self.ttl = float(constants.HF_SEARCH_TTL if ttl is None else ttl)
        self.offline = constants.OFFLINE if offline is None else offline
        self._cache = _TTLCache()
        self.calls = 0  # API calls made (tests and the bench read it)

    # -- one file ---------------------------------------------------------------------------
    def file_info(self, repo_id: str, path: str, revision: str = "main") -> HfFile | None:
        """The file with its size and sha256 if the repository has it, else None. Raises ``LookupFailed``."""
        key = ("file", repo_id, revision, path)
        hit, value = self._cache.get(key)
        if hit:
            return value
        infos = self._call(lambda: self.api.get_paths_info(repo_id, [path], revision=revision))
        info = next((i for i in infos or () if getattr(i, "path", None) == path and hasattr(i, "size")), None)
        found = None
        if info is not None:
            lfs = getattr(info, "lfs", None)
            found = HfFile(repo_id, path, revision, size=info.size, sha256=lfs.sha256 if lfs else None)
        self._cache.put(key, found, self.ttl if found else min(MISS_TTL, self.ttl))
        return found

    async def afile_info(self, repo_id: str, path: str, revision: str = "main") -> HfFile | None:
        return await asyncio.to_thread(self.file_info, repo_id, path, revision)

    # -- search -----------------------------------------------------------------------------
    def search(self, filename: str, *, repos: Iterable[str] = (), authors: Iterable[str] = ()) -> list[HfFile]:
        """Files named ``filename`` on the hub, best first, confirmed with ``paths-info``."""
        name = filename.replace("\\", "/").rsplit("/", 1)[-1]
        repos, authors = tuple(dict.fromkeys(repos)), tuple(dict.fromkeys(a.lower() for a in authors))
        key = ("search", name, repos, authors)
        hit, value = self._cache.get(key)
        if hit:
            return value
        hits: dict[tuple[str, str], HfFile] = {}
        for repo_id in repos[:3]:
            self._collect(self._cached(("repo", repo_id), lambda r=repo_id: [self.api.model_info(r)]), name, hits)
        for query in search_words(name):
            self._collect(self._cached(("query", query), lambda q=query: list(self.api.list_models(
                search=q, sort="downloads", limit=SEARCH_LIMIT, expand=["siblings", "downloads", "likes"]))),
                name, hits)
        ranked = sorted(hits.values(), key=lambda f: (
            f.name != name, f.repo_id not in repos, f.repo_id.split("/")[0].lower() not in authors,
            -f.downloads, -f.likes))
        confirmed = []
        for f in ranked[:MAX_CONFIRM]:
            details = {"exact_name": f.name == name, "named_by_workflow": f.repo_id in repos}
            try:
                info = self.file_info(f.repo_id, f.path)
            except GatedFile:  # there, behind a licence: a source, but never a certain one
                confirmed.append(HfFile(f.repo_id, f.path, f.revision, None, None, f.downloads, f.likes,
                                        {**details, "gated": True}))
                continue
            if info is not None:
                confirmed.append(HfFile(f.repo_id, f.path, f.revision, info.size, info.sha256, f.downloads, f.likes,
                                        details))
        self._cache.put(key, confirmed, self.ttl if confirmed else min(MISS_TTL, self.ttl))
        return confirmed

    async def asearch(self, filename: str, *, repos: Iterable[str] = (), authors: Iterable[str] = ()) -> list[HfFile]:
        return await asyncio.to_thread(self.search, filename, repos=tuple(repos), authors=tuple(authors))

    def _cached(self, key: tuple, fetch: Any) -> list[Any]:
        """Repository listings and query answers, shared by every file name looked up (one workflow has many)."""
        hit, value = self._cache.get(key)
        if not hit:
            value = [v for v in self._call(fetch, missing_ok=True) or () if v is not None]
            self._cache.put(key, value, self.ttl if value else min(MISS_TTL, self.ttl))
        return value

    @staticmethod
    def _collect(infos: Iterable[Any], name: str, hits: dict[tuple[str, str], HfFile]) -> None:
        lower = name.lower()
        for info in infos:
            for sibling in getattr(info, "siblings", None) or ():
                path = sibling.rfilename
                if path.rsplit("/", 1)[-1].lower() == lower:
                    hits.setdefault((info.id, path), HfFile(info.id, path, downloads=info.downloads or 0,
                                                            likes=info.likes or 0))

    def _call(self, fn: Any, missing_ok: bool = False) -> Any:
        """One API call; a missing repository is None, any other failure is ``LookupFailed`` (never cached)."""
        from huggingface_hub.errors import EntryNotFoundError, GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

        if self.offline:
            raise LookupFailed("offline (MEND_OFFLINE or HF_HUB_OFFLINE): no Hugging Face look-ups")
        self.calls += 1
        try:
            return fn()
        except GatedRepoError as exc:  # a RepositoryNotFoundError too: tell it apart first
            if missing_ok:
                return None
            raise GatedFile("gated on Hugging Face: accept the licence on the repository's page and set HF_TOKEN"
                            ) from exc
        except (RepositoryNotFoundError, EntryNotFoundError):
            return None
        except HfHubHTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status == 404 or (missing_ok and status in (401, 403)):
                return None
            raise LookupFailed(f"Hugging Face look-up failed: HTTP {status}") from exc
        except Exception as exc:  # httpx transport errors, timeouts, bad JSON
            raise LookupFailed(f"Hugging Face look-up failed: {why_failed(exc)}") from exc


class LookupFailed(Exception):
    """A look-up that could not be answered (network, 5xx, offline): not the same as "not there"."""


class GatedFile(LookupFailed):
    """The repository is gated and no token (or a token without access) was sent: the file is there."""
