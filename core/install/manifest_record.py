"""The one place an install writes to the manifest: ``record_installed`` after the pack is in place.

Kept behind one function so the install never depends on the manifest's internals. It blocks
(file lock, fsync): call it with ``asyncio.to_thread``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def record_installed(mend: Any, record: Mapping[str, Any]) -> None:
    """Record an installed pack (id, source, version or commit, repository, folder) in Mend's manifest."""
    fields = {k: v for k, v in record.items() if v is not None}
    pack_id = fields.pop("id")
    mend.manifest.record_pack(pack_id, **fields)
