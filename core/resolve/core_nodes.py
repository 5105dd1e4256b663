"""A core node this ComfyUI lacks: why, said the same way by the panel, the HTTP API and the CLI.

A type is core when the workflow stamps it ``cnr_id: comfy-core``, or ComfyUI-Manager's map lists it
under ComfyUI's own repository, or Mend's recorded core schema has it (``catalog/comfy_core.py``) and
no pack stamp of the node says otherwise. Such a type is never a pack candidate: installing ComfyUI
into ``custom_nodes`` fixes nothing. Two causes are told apart:

- the workflow was saved on a newer ComfyUI (its stamp's ``ver`` is newer than this one): update it;
- this ComfyUI has the node but the module defining it failed to import (ComfyUI logs ``IMPORT FAILED:
  nodes_audio.py``: ``torchaudio`` missing, say). The server's host names the core modules that failed
  (``ComfyHost.failed_core_modules``) and the quoted names each declares, so the module is named.

    >>> facts = CoreFacts(comfyui_version="0.8.0", failed_modules={"comfy_extras/nodes_audio.py": ["LoadAudio"]})
    >>> core_note("LoadAudio", "0.7.0", facts).split(": ", 1)[1]
    "its module comfy_extras/nodes_audio.py failed to import (see ComfyUI's log)"
    >>> core_note("ComfyMathExpression", "0.17.0", facts)
    'a core ComfyUI node this ComfyUI lacks: needs ComfyUI ≥ 0.17.0 (this is 0.8.0)'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..catalog.comfy_core import recorded_core_types
from ..catalog.node_map import NodeMap

LACKS = "a core ComfyUI node this ComfyUI lacks"
SEE_LOG = "(see ComfyUI's log)"


@dataclass(frozen=True)
class CoreFacts:
    """What this ComfyUI says about its own nodes: its version, and its core modules that failed to import."""

    comfyui_version: str | None = None
    failed_modules: Mapping[str, Sequence[str]] = field(default_factory=dict)  # module file -> names it declares

    def failed_module_of(self, node_type: str) -> str | None:
        return next((m for m, names in self.failed_modules.items() if node_type in names), None)


def core_types(node_map: NodeMap) -> set[str]:
    """Every type known to be ComfyUI's own: the map's core list and Mend's recorded core schema."""
    return node_map.core_types() | recorded_core_types()


def version_key(version: str) -> tuple:
    """``0.3.10`` > ``0.3.9``; ``v0.8.0`` is ``0.8.0``; a non-numeric part counts as 0."""
    return tuple(int(p) if p.isdigit() else 0 for p in version.strip().lstrip("v").split(".")[:4])


def newer(a: str | None, b: str | None) -> str | None:
    if not a or not b:
        return a or b
    return b if version_key(b) > version_key(a) else a


def core_note(node_type: str, needs: str | None, facts: CoreFacts) -> str:
    """Why this ComfyUI lacks a core node, and so what fixes it (never a node pack)."""
    module = facts.failed_module_of(node_type)
    if module is not None:
        return f"{LACKS}: its module {module} failed to import {SEE_LOG}"
    have = facts.comfyui_version
    if needs and (have is None or version_key(needs) > version_key(have)):
        return f"{LACKS}: needs ComfyUI ≥ {needs}" + (f" (this is {have})" if have else "")
    if needs:  # this ComfyUI is as new as the workflow's: a module of it did not load
        return f"{LACKS}: its module failed to import {SEE_LOG}"
    return f"{LACKS}: a newer ComfyUI has it, or a core module failed to import {SEE_LOG}"
