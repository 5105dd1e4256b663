"""Is the file already under a download's target name the file that download would bring?

Very common names (``model.safetensors``, ``pytorch_lora_weights.safetensors``) from different sources
land on the same path. A file there counts as the download only when Mend can tell it is the same:

- a known sha256 of the source (the decision's or request's, Manager's list, Hugging Face's LFS
  metadata, or the manifest recording that URL with a digest) equals the file's; or
- the manifest records this very file as downloaded from this very URL, with the size it has now.

Anything else is a conflict the user settles (``ON_EXISTING``): ``keep`` (the user says it is the same
file), ``rename`` (save the new one under ``suggested_name``) or ``replace`` (download, verify, then move
the old file aside). A size the source announces that differs from the file's makes the message plain.

    verdict = judge_existing(final, folder="loras", relpath="x.safetensors", url=url, models=manifest.models())
    if verdict is not None and not verdict.same: ...   # ask: keep / rename / replace
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ..catalog.hashing import sha256_file
from ..catalog.huggingface import parse_hf_url
from ..errors import FileExists
from .manifest import model_key

ON_EXISTING = ("keep", "rename", "replace")


@dataclass(frozen=True)
class ExistingFile:
    """What is under the target name, and whether it is known to be the source's file."""

    folder: str
    relpath: str
    size: int
    sha256: str | None  # the file's digest, when it was computed (a known source digest to compare)
    same: bool
    why: str
    suggested: str  # a free name for the new file beside it

    def to_json(self) -> dict[str, Any]:
        out = {"folder": self.folder, "path": self.relpath, "size": self.size, "same": self.same,
               "why": self.why, "suggested": self.suggested}
        if self.sha256:
            out["sha256"] = self.sha256
        return out

    def error(self, url: str) -> FileExists:
        """The named 409 that asks the user (``choices``: what ``on_existing`` takes)."""
        return FileExists(
            f"{self.folder}/{self.relpath} already exists and {self.why}: keep it (it is the same file), "
            f"save the new one as {self.suggested}, or replace it", field="on_existing",
            existing=self.to_json(), url=url, choices=list(ON_EXISTING))


def judge_existing(final: Path, *, folder: str, relpath: str, url: str, sha256: str | None = None,
                   size: int | None = None, models: Mapping[str, Mapping[str, Any]] | None = None,
                   digest: Callable[[Path], str] = sha256_file) -> ExistingFile | None:
    """None when nothing is at ``final``; else whether it is the source's file (blocking: may hash it)."""
    try:
        have = final.stat().st_size
    except OSError:
        return None
    models = models or {}
    recorded = models.get(model_key(folder, relpath)) or {}
    known = sha256 or _recorded_sha(models, url)
    suggested = suggested_name(final, relpath, url)

    def verdict(same: bool, why: str, actual: str | None = None) -> ExistingFile:
        return ExistingFile(folder, relpath, have, actual, same, why, suggested)

    if known:
        actual = digest(final)
        if actual == known:
            return verdict(True, "its sha256 matches the source's", actual)
        return verdict(False, f"its sha256 {actual[:12]}… differs from the source's {known[:12]}…", actual)
    if url in (recorded.get("sources") or []) and recorded.get("size") == have:
        return verdict(True, "the manifest records it downloaded from this URL, with this size")
    if size is not None and size != have:
        return verdict(False, f"it holds {have} bytes where the source sends {size}")
    return verdict(False, "Mend cannot tell it is the same file (no sha256 known, not recorded from this URL)")


def _recorded_sha(models: Mapping[str, Mapping[str, Any]], url: str) -> str | None:
    """A digest the manifest recorded for a file downloaded from ``url`` (wherever it was saved)."""
    for entry in models.values():
        sha = entry.get("sha256")
        if isinstance(sha, str) and len(sha) == 64 and url in (entry.get("sources") or []):
            return sha.lower()
    return None


def suggested_name(final: Path, relpath: str, url: str) -> str:
    """``<stem>-<source tag><suffix>`` beside ``relpath``, a name nothing holds yet.

    >>> suggested_name(Path("/nonexistent/m/model.safetensors"), "sdxl/model.safetensors",
    ...                "https://huggingface.co/acme/turbo-vae/resolve/main/model.safetensors")
    'sdxl/model-turbo-vae.safetensors'
    """
    head, name = posixpath.split(relpath)
    stem, dot, ext = name.rpartition(".")
    stem, ext = (stem, dot + ext) if stem else (name, "")
    tag = source_tag(url)
    candidates = [f"{stem}-{tag}{ext}", f"{stem}-{tag}-{hashlib.sha256(url.encode()).hexdigest()[:6]}{ext}"]
    candidates += [f"{stem}-{tag}-{n}{ext}" for n in range(2, 100)]
    for candidate in candidates:
        if not (final.parent / candidate).exists() and not (final.parent / (candidate + ".part")).exists():
            return posixpath.join(head, candidate)
    return posixpath.join(head, candidates[1])


def source_tag(url: str) -> str:
    """A short, readable word for where a URL points: a Hugging Face repository's name, ``civitai-<id>``,
    else the URL's last folder, else its host.

    >>> source_tag("https://civitai.com/api/download/models/456?type=Model")
    'civitai-456'
    >>> source_tag("http://127.0.0.1:8399/other/fake-lora.safetensors")
    'other'
    """
    hf = parse_hf_url(url)
    parts = urlsplit(url)
    if hf is not None:
        tag = hf[0].rsplit("/", 1)[-1]
    elif (match := re.search(r"/api/download/models/(\d+)", parts.path)) and "civitai" in (parts.hostname or ""):
        tag = f"civitai-{match[1]}"
    else:
        folders = [s for s in unquote(parts.path).split("/")[:-1] if s]
        tag = folders[-1] if folders else (parts.hostname or "source").split(".")[0]
    tag = re.sub(r"[^A-Za-z0-9._-]+", "-", tag).strip("-.")[:32].strip("-.")
    return tag or "source"
