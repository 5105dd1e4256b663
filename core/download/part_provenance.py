"""Where a ``.part`` came from, so that only a part Mend wrote for this very file is ever resumed.

A part's bytes say nothing about their origin: a hand-made file of zeros, or the first MiB of file A
left by a failed download, continued from file B, would be spliced, renamed into place and, without a
known sha256, trusted. So every part has a sidecar ``.<name>.part.mend`` (hidden: ComfyUI and Mend's
index skip dot files), written atomically *before* the part is created, that records the source (the
canonical URL), the server's validators (``ETag``, ``X-Linked-Etag``, ``Last-Modified``), the whole
file's size and, once the part holds ``HEAD_BYTES``, the sha256 of its first bytes. A part is resumed
only when that record exists and matches (``resume_offset``); otherwise part and sidecar are
discarded and the download starts over. The server's answer to the resumed request is checked
against the record too (``changed_at_source``).

    prov = Provenance(source=url, etag='"abc"', size=1000)
    prov.save(part)                                 # then create the part
    offset = resume_offset(part, url)               # 0 unless the part is this file's, from this source
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..atomic_files import replace_atomic

log = logging.getLogger(__name__)

HEAD_BYTES = 1 << 20  # the part's first MiB is hashed once it is there


def sidecar(part: Path) -> Path:
    return part.with_name(f".{part.name}.mend")


@dataclass
class Provenance:
    """What a part was started from; ``head_sha256`` covers its first ``head_len`` bytes."""

    source: str
    etag: str | None = None
    linked_etag: str | None = None
    last_modified: str | None = None
    size: int | None = None
    head_len: int = 0
    head_sha256: str | None = None
    version: int = field(default=1)

    @classmethod
    def load(cls, part: Path) -> Provenance | None:
        try:
            data = json.loads(sidecar(part).read_text(encoding="utf-8"))
            return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def save(self, part: Path) -> None:
        """Atomically and durably (blocking)."""
        replace_atomic(sidecar(part), json.dumps(asdict(self), sort_keys=True))

    @property
    def if_range(self) -> str | None:
        """The validator for ``If-Range``: a strong ETag, else the Last-Modified date."""
        if self.etag and not self.etag.startswith("W/"):
            return self.etag
        return self.last_modified

    def record_head(self, part: Path) -> None:
        """Hash the part's first ``HEAD_BYTES`` and save (the writing thread calls this once)."""
        self.head_sha256, self.head_len = head_digest(part, HEAD_BYTES), HEAD_BYTES
        self.save(part)


def head_digest(part: Path, length: int) -> str | None:
    """sha256 of the first ``length`` bytes, read without following a symlink; None if shorter."""
    fd = os.open(part, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        data = os.pread(fd, length, 0)
    finally:
        os.close(fd)
    return hashlib.sha256(data).hexdigest() if len(data) == length else None


def discard(part: Path) -> None:
    """Remove the part (or whatever has its name: a symlink is removed, never followed) and its record."""
    for path in (part, sidecar(part)):
        path.unlink(missing_ok=True)


def resume_offset(part: Path, source: str) -> int:
    """The part's size when it may be resumed from ``source``; else it is discarded and 0 returned (blocking)."""
    reason = _refusal(part, source)
    if reason is None:
        return part.lstat().st_size
    if os.path.lexists(part):
        log.warning("mend: %s is not resumed (%s); the download starts over", part, reason)
    discard(part)
    return 0


def _refusal(part: Path, source: str) -> str | None:
    try:
        st = part.lstat()
    except FileNotFoundError:
        return "there is no part"
    if not part.is_file() or part.is_symlink():
        return "it is not a regular file"
    prov = Provenance.load(part)
    if prov is None:
        return "Mend has no record of where it came from"
    if prov.source != source:
        return f"it was started from another source, {prov.source}"
    if prov.size is not None and st.st_size > prov.size:
        return f"it is larger ({st.st_size} bytes) than the file ({prov.size})"
    if prov.head_sha256 and (st.st_size < prov.head_len or head_digest(part, prov.head_len) != prov.head_sha256):
        return "its first bytes are not the ones Mend wrote"
    return None


def changed_at_source(prov: Provenance, etag: str | None, linked_etag: str | None, last_modified: str | None,
                      size: int | None) -> str | None:
    """Why the server's answer to a resumed request is another file than the part's; None when it is the same."""
    for name, was, now in (("ETag", prov.etag, etag), ("X-Linked-Etag", prov.linked_etag, linked_etag),
                           ("Last-Modified", prov.last_modified, last_modified), ("size", prov.size, size)):
        if was is not None and now is not None and was != now:
            return f"its {name} changed from {was} to {now}"
    return None
