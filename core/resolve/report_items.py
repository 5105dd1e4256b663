"""The report as people read it: one item per missing model *file*, with its nodes and their marks.

A workflow often names one file from several nodes (two instances of a subgraph, a loader copied
twice). Each node is a reference of its own (``missing_models``, decisions are stored per reference),
but there is one file to find and fetch: ``ModelFile`` groups the references by (folder, path) and
says which nodes use it and whether any of them runs. A node in mode 4 is *bypassed*, in mode 2
*muted* ("never"); nodes inside a bypassed or muted subgraph instance carry its mode. Something only
bypassed or muted nodes use does not block a run::

    files = model_files(report.missing_models)
    [(f.label, f.mark, f.blocking) for f in files]   # [('vae/ae.safetensors', 'bypassed', False)]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..workflow.reader import MODE_BYPASSED, MODE_MUTED
from .models import MissingModel, normalise_value

MARKS = {MODE_BYPASSED: "bypassed", MODE_MUTED: "muted"}


def mark(modes: Iterable[int]) -> str | None:
    """``"bypassed"``, ``"muted"`` or ``"muted/bypassed"`` when no node of these modes runs, else None."""
    marks = {MARKS.get(m) for m in modes}
    if not marks or None in marks:
        return None
    return "/".join(sorted(m for m in marks if m))


def file_key(model: MissingModel) -> str:
    """The file a reference names: ``folder/path`` (``?/path`` while its folder is unknown)."""
    return f"{model.ref.folder or '?'}/{normalise_value(model.ref.value)}"


@dataclass
class ModelFile:
    """One missing file and every reference to it; ``primary`` (the first that runs) carries the candidates."""

    key: str
    models: list[MissingModel] = field(default_factory=list)

    @property
    def primary(self) -> MissingModel:
        return next((m for m in self.models if m.ref.mode not in MARKS), self.models[0])

    @property
    def mark(self) -> str | None:
        return mark(m.ref.mode for m in self.models)

    @property
    def fetched_by_pack(self) -> bool:
        """Every node naming it is a loader whose pack downloads it on first use (``pack_fetched``)."""
        return all(m.ref.fetched_by_pack for m in self.models)

    @property
    def folder_guessed(self) -> bool:
        """The folder is a hint or a guess from names, not a schema, metadata or a catalog."""
        return self.primary.ref.folder_guessed

    @property
    def node_ids(self) -> list[str]:
        return [m.ref.node_id for m in self.models]

    @property
    def refs(self) -> list[str]:
        return [m.ref.key for m in self.models]

    def blocking(self, decision: Callable[[MissingModel], dict | None]) -> bool:
        """A node that runs needs it and no decision settled it (optional, or a file already chosen)."""
        settled = ("optional", "resolved")
        return self.mark is None and not self.fetched_by_pack and any(
            (decision(m) or {}).get("status") not in settled for m in self.models)

    def to_json(self, decision: Callable[[MissingModel], dict | None]) -> dict:
        primary = self.primary
        out = {
            "file": self.key,
            "folder": primary.ref.folder,
            "folder_source": primary.ref.folder_source,
            "folder_guessed": self.folder_guessed,
            "value": primary.ref.value,
            "refs": self.refs,
            "nodes": [{"key": m.ref.key, "node_id": m.ref.node_id, "node_type": m.ref.node_type,
                       "input": m.ref.input, "widget_index": m.ref.widget_index, "mode": m.ref.mode,
                       "mark": MARKS.get(m.ref.mode)} for m in self.models],
            "mark": self.mark,
            "inactive": self.mark is not None,
            "blocking": self.blocking(decision),
            "fetched_by_pack": self.fetched_by_pack,
            "status": primary.status,
            "auto": primary.auto,
            "candidates": [c.to_json() for c in primary.candidates],
            "decided": sum(decision(m) is not None for m in self.models),
        }
        if (stored := decision(primary)) is not None:
            out["decision"] = stored
        return out


def model_files(models: Iterable[MissingModel]) -> list[ModelFile]:
    """Group references by the file they name, in the order each file first appears."""
    groups: dict[str, ModelFile] = {}
    for m in models:
        key = file_key(m)
        groups.setdefault(key, ModelFile(key)).models.append(m)
    return list(groups.values())
