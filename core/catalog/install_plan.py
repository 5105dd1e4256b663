"""The install a catalog pack turns into, and the one line that says where it will come from.

Used everywhere a pack becomes an install (the panel's candidate rows, ``mend resolve``'s decided
packs, ``install_batch``) so they all send the same body: the registry id when the pack has one (from
the registry's own list, or the workflow's ``cnr_id`` stamp; never ComfyUI-Manager's ``id``), and the
repository when it is a git URL, so the server can fall back to git (``install_source``).

    >>> from mend.core.catalog.node_map import Pack
    >>> plan = install_plan(Pack(repository="https://github.com/a/comfyui-x", title="X", id="comfyui-x"), "1.2.0")
    >>> plan["label"], plan["fallback"]
    ('Comfy Registry: comfyui-x 1.2.0', 'git')
"""

from __future__ import annotations

import re
from typing import Any

from .node_map import Pack

#: a git commit as workflows stamp it in ``ver``
GIT_COMMIT = re.compile(r"^[0-9a-f]{7,40}$")


def install_body(pack: Pack, version: str | None = None, stamp_id: str | None = None) -> dict[str, Any]:
    """``POST /mend/nodes/install``'s body for ``pack`` at the workflow's ``ver`` (``version``)."""
    registry_id = pack.id or stamp_id
    given = pack.url or pack.repository  # as the catalog spells it: the normalised form is for comparing
    repository = given if given.startswith(("https://", "http://")) else None
    body: dict[str, Any] = {}
    if registry_id:
        body["id"] = registry_id
    if repository:
        body["repository"] = repository
    if version and GIT_COMMIT.match(version):
        if repository:
            body["commit"] = version
    elif version:
        body["version"] = version
    return body


def describe_body(body: dict[str, Any]) -> str:
    """``Comfy Registry: comfyui-x 1.2.0`` or ``git: github.com/a/b @ 1a2b3c4d5e6f`` (before the click)."""
    if body.get("id") and not body.get("commit"):
        return f"Comfy Registry: {body['id']} {body.get('version') or '(newest)'}"
    where = str(body.get("repository", "")).split("://", 1)[-1]
    at = str(body["commit"])[:12] if body.get("commit") else body.get("version") or "default branch"
    return f"git: {where} @ {at}"


def install_plan(pack: Pack, version: str | None = None, stamp_id: str | None = None) -> dict[str, Any]:
    """``{"body", "label", "source"}``; ``registry`` when a registry id is known (git stays the fallback)."""
    body = install_body(pack, version, stamp_id)
    registry = bool(body.get("id")) and not body.get("commit")
    plan: dict[str, Any] = {"source": "registry" if registry else "git", "body": body, "label": describe_body(body)}
    if registry and body.get("repository"):
        plan["fallback"] = "git"
    return plan
