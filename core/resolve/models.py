"""Ranking where each missing model file can come from.

Local files first (nothing to download): the same name under another subfolder of the loader's
folder, the same name in another case, a file with the same sha256 elsewhere, the same name in
another folder. Then remote sources: the workflow's own ``models`` link, a download link in the
workflow's own widgets ending in the file's name (``workflow_url``), ComfyUI-Manager's model
list, then any ``extra`` sources (Hugging Face search, pasted URLs) given by the caller.
A unique certain match is ``auto``; pickle formats never are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, urlparse

from ..catalog.hashing import HashCache
from ..catalog.huggingface import parse_hf_url
from ..catalog.model_index import ModelFile, ModelIndex
from ..catalog.model_list import ModelList
from ..workflow.model_refs import PICKLE_EXTENSIONS, ModelRef

#: reason -> confidence
CONFIDENCE = {
    "same_name_other_subfolder": 0.95,
    "same_hash": 0.97,
    "case_insensitive": 0.9,
    "same_name_other_folder": 0.85,
    "workflow_metadata": 0.9,
    "manager_model_list": 0.85,
    # a download link elsewhere in the same workflow (a downloader node) ending in this file's name
    "workflow_url": 0.85,
    "huggingface": 0.75,
    "url": 0.9,
    # a workflow or catalog link the hub says no longer exists (kept, but behind any other source)
    "unavailable": 0.3,
    # a link into a gated repository no token opens: there, but not downloadable as things stand
    "gated": 0.6,
    # a link whose server said a download cannot work (a login, a 404, a web page, the wrong kind of file)
    "link_problem": 0.3,
}


@dataclass
class ModelCandidate:
    kind: str  # "local" (use a file on disk) or "download"
    reason: str
    folder: str | None
    relpath: str  # where the file is or will be, relative to the folder
    url: str | None = None
    size: int | None = None
    sha256: str | None = None
    path: str | None = None  # local candidates: the file on disk
    source: str | None = None  # "workflow", "manager", "huggingface", "url", "local"
    details: dict = field(default_factory=dict)

    @property
    def confidence(self) -> float:
        return CONFIDENCE.get(self.reason, 0.5)

    @property
    def pickle(self) -> bool:
        return self.relpath.lower().endswith(PICKLE_EXTENSIONS)

    def to_json(self) -> dict:
        out = {
            "kind": self.kind,
            "reason": self.reason,
            "confidence": self.confidence,
            "folder": self.folder,
            "relpath": self.relpath,
            "url": self.url,
            "host": urlparse(self.url).hostname if self.url else None,
            "size": self.size,
            "sha256": self.sha256,
            "path": self.path,
            "source": self.source,
            "pickle": self.pickle,
        }
        out.update(self.details)
        return out


@dataclass
class MissingModel:
    ref: ModelRef
    candidates: list[ModelCandidate] = field(default_factory=list)

    @property
    def auto(self) -> bool:
        if not self.candidates or self.ref.folder is None:
            return False
        top = self.candidates[0]
        if top.pickle and top.kind == "download":
            return False
        if top.kind == "local":  # one file on disk, in the loader's folder, and no other local look-alike
            local = [c for c in self.candidates if c.kind == "local"]
            return len(local) == 1 and top.confidence >= 0.9 and top.folder == self.ref.folder
        certain = [c for c in self.candidates if c.confidence >= 0.9 and c.kind == top.kind]
        # downloads: all certain sources agree on the same file
        return bool(certain) and len({(c.folder, c.relpath.rsplit("/", 1)[-1]) for c in certain}) == 1

    @property
    def status(self) -> str:
        if not self.candidates:
            return "unknown"
        return "auto" if self.auto else "ambiguous"

    def to_json(self) -> dict:
        return {
            **self.ref.to_json(),
            "status": self.status,
            "auto": self.auto,
            "candidates": [c.to_json() for c in self.candidates],
        }


def normalise_value(value: str) -> str:
    """Workflows saved on Windows name subfolders with backslashes."""
    return value.replace("\\", "/").lstrip("/")


def is_present(ref: ModelRef, index: ModelIndex) -> bool:
    value = normalise_value(ref.value)
    if ref.folder is not None:
        return index.get(ref.folder, value) is not None
    return any(index.get(f.folder, value) for f in index.by_name(value))


def local_candidates(ref: ModelRef, index: ModelIndex, hashes: HashCache | None) -> list[ModelCandidate]:
    value = normalise_value(ref.value)
    name = value.rsplit("/", 1)[-1]
    out: list[ModelCandidate] = []
    seen: set[str] = set()

    def add(f: ModelFile, reason: str) -> None:
        if f.abspath not in seen:
            seen.add(f.abspath)
            out.append(
                ModelCandidate("local", reason, f.folder, f.relpath, size=f.size, path=f.abspath, source="local")
            )

    wanted_hash = ref.meta.hash.lower() if ref.meta and ref.meta.hash and _is_sha256(ref.meta) else None
    if wanted_hash and hashes is not None:
        for path in hashes.find(wanted_hash):
            match = next((f for f in index.files if f.abspath == str(path)), None)
            if match:
                add(match, "same_hash")
    same_name = index.by_name(name)
    for f in same_name:
        if f.folder == ref.folder and f.name == name:
            add(f, "same_name_other_subfolder")
    for f in same_name:
        if f.folder == ref.folder:
            add(f, "case_insensitive")
    for f in same_name:
        add(f, "same_name_other_folder")
    return out


def remote_candidates(ref: ModelRef, model_list: ModelList | None) -> list[ModelCandidate]:
    value = normalise_value(ref.value)
    name = value.rsplit("/", 1)[-1]
    out: list[ModelCandidate] = []
    if ref.meta and ref.meta.url:
        out.append(
            ModelCandidate(
                "download",
                "workflow_metadata",
                ref.meta.directory or ref.folder,
                value if ref.folder == (ref.meta.directory or ref.folder) else name,
                url=ref.meta.url,
                sha256=ref.meta.hash.lower() if ref.meta.hash and _is_sha256(ref.meta) else None,
                source="workflow",
            )
        )
    for known in (model_list.find(name) if model_list is not None else []):
        if any(c.url == known.url for c in out):
            continue
        out.append(
            ModelCandidate(
                "download",
                "manager_model_list",
                known.folder or ref.folder,
                value,
                url=known.url,
                sha256=known.sha256,
                source="manager",
                details={"title": known.name, "size_text": known.size, "base": known.base},
            )
        )
    return out


def workflow_url_candidates(ref: ModelRef, urls: dict[str, list[str]]) -> list[ModelCandidate]:
    """Links the workflow itself carries (``workflow.named_urls``) that end in this file's name; a Hugging Face
    ``blob`` page becomes the file's ``resolve`` link."""
    name = normalise_value(ref.value).rsplit("/", 1)[-1].lower()
    return [ModelCandidate("download", "workflow_url", ref.folder, normalise_value(ref.value), url=_file_link(url),
                           source="workflow", details={"original_url": url} if _file_link(url) != url else {})
            for url in urls.get(name, [])]


def _file_link(url: str) -> str:
    parsed = parse_hf_url(url, "https://huggingface.co")
    if parsed is None:
        return url
    repo, revision, path = parsed
    return f"https://huggingface.co/{repo}/resolve/{quote(revision, safe='')}/{quote(path)}"


def rank(
    ref: ModelRef,
    index: ModelIndex,
    hashes: HashCache | None,
    model_list: ModelList | None,
    extra: Iterable[ModelCandidate] = (),
) -> MissingModel:
    candidates = local_candidates(ref, index, hashes) + remote_candidates(ref, model_list)
    known = {c.url for c in candidates if c.url}
    candidates += [c for c in extra if not c.url or c.url not in known]
    return MissingModel(ref=ref, candidates=sort_candidates(candidates))


def sort_candidates(candidates: list[ModelCandidate]) -> list[ModelCandidate]:
    """Stable sort: by confidence, a local file before a download on ties, then insertion order."""
    candidates.sort(key=lambda c: (-c.confidence, c.kind != "local"))
    return candidates


def _is_sha256(meta: object) -> bool:
    hash_type = (getattr(meta, "hash_type", None) or "sha256").lower()
    value = getattr(meta, "hash", None) or ""
    return hash_type == "sha256" and len(value) == 64
