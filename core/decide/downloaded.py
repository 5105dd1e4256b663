"""A file in place settles the decisions waiting for it: ``pending_download`` becomes ``resolved``.

Whoever fetched it (the panel, "Fix all certain", ``mend resolve`` here or handed to the server, a task
resumed after a restart), a completed download names the file it put in place. Every workflow's
decision waiting for that very file (same folder and path; the same sha256 when the decision names
one) is resolved, and the file joins ``[tool.mend.models]``, in one manifest write made under the
manifest's lock from the manifest as it is then: durable at once (the decision log), written once
(a decision already resolved is left alone), and keeping every key the decision had (``value``,
``source``, ``url``...): only ``status`` changes, and ``sha256`` is added when the decision had none.

    settle_file(manifest, "loras", "x.safetensors", size=1024, sha256="ab12...", sources=["https://..."])
    # -> [("portraits/flux.json", "12/lora_name")], the decisions it resolved

Blocking (file lock, fsync): from async code call it with ``asyncio.to_thread``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..host import canonical_folder
from .manifest import Manifest, model_record_op, set_op


def settle_file(manifest: Manifest, folder: str, relpath: str, *, size: int | None = None,
                sha256: str | None = None, sources: Sequence[str] = ()) -> list[tuple[str, str]]:
    """Record the file and resolve the decisions waiting for it; returns those (workflow id, reference key)."""
    record = model_record_op(folder, relpath, size=size, sha256=sha256, sources=sources)
    settled: list[tuple[str, str]] = []
    with manifest.locked():
        view = manifest.data()
        ops = [] if view.get("models", {}).get(record["path"][1]) == record["value"] else [record]
        for workflow_id, resolutions in view.get("workflows", {}).items():
            for key, entry in (resolutions.get("models") or {}).items():
                if waits_for(entry, folder, relpath, sha256):
                    resolved = {**entry, "status": "resolved"}
                    if sha256 and not entry.get("sha256"):
                        resolved["sha256"] = sha256
                    ops.append(set_op("workflows", workflow_id, "models", key, value=resolved))
                    settled.append((workflow_id, key))
        if ops:
            manifest.write(ops)
    return settled


def waits_for(entry: object, folder: str, relpath: str, sha256: str | None) -> bool:
    """A decision still pending on this file (a decision expecting another sha256 is not met by it)."""
    if not isinstance(entry, dict) or entry.get("status") != "pending_download":
        return False
    if not isinstance(entry.get("folder"), str) or canonical_folder(entry["folder"]) != canonical_folder(folder):
        return False
    if entry.get("path") != relpath:
        return False
    expected = entry.get("sha256")
    return not expected or (bool(sha256) and str(expected).lower() == str(sha256).lower())
