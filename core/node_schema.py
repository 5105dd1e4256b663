"""What Mend knows of an installed node type: its widget order and which inputs take model files.

Learned from the host, never from a hand-written table: an ``object_info`` document (live, or
recorded with one sentinel file ``mend-folder-<folder>.<ext>`` per model folder), or the live
node classes whose ``INPUT_TYPES()`` are called while ``folder_paths`` hands out sentinels.

    >>> info = {"L": {"input": {"required": {"lora_name": [["mend-folder-loras.safetensors"]],
    ...     "strength": ["FLOAT", {}]}}, "input_order": {"required": ["lora_name", "strength"]}}}
    >>> s = schemas_from_object_info(info)["L"]
    >>> (s.widgets, s.model_inputs)
    (('lora_name', 'strength'), {'lora_name': 'loras'})
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SENTINEL_PREFIX = "mend-folder-"
SENTINEL_RE = re.compile(r"^mend-folder-([A-Za-z0-9_.-]+?)\.(?:safetensors|yaml)$")
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
CONTROL_AFTER_GENERATE = "control_after_generate"


@dataclass(frozen=True)
class NodeSchema:
    """``widgets`` is the order of ``widgets_values`` in a UI workflow (extra control slots included)."""

    type: str
    widgets: tuple[str, ...] = ()
    model_inputs: dict[str, str] = field(default_factory=dict)  # input name -> model folder
    python_module: str | None = None

    def widget_index(self, input_name: str) -> int | None:
        try:
            return self.widgets.index(input_name)
        except ValueError:
            return None

    def to_json(self) -> dict:
        return {"widgets": list(self.widgets), "model_inputs": self.model_inputs, "python_module": self.python_module}

    @classmethod
    def from_json(cls, node_type: str, data: Mapping[str, Any]) -> NodeSchema:
        return cls(
            type=node_type,
            widgets=tuple(data.get("widgets", ())),
            model_inputs=dict(data.get("model_inputs", {})),
            python_module=data.get("python_module"),
        )


def schema_from_input_types(node_type: str, inputs: Mapping[str, Any], python_module: str | None = None,
                            input_order: Mapping[str, list] | None = None) -> NodeSchema:
    """Build a schema from one ``INPUT_TYPES()`` result (or object_info's ``input``)."""
    widgets: list[str] = []
    model_inputs: dict[str, str] = {}
    for section in ("required", "optional"):
        specs = inputs.get(section) or {}
        if not isinstance(specs, Mapping):
            continue
        names = (input_order or {}).get(section) or list(specs)
        for name in names:
            spec = specs.get(name)
            if not isinstance(spec, (list, tuple)) or not spec:
                continue
            kind, options = spec[0], spec[1] if len(spec) > 1 and isinstance(spec[1], Mapping) else {}
            choices = kind if isinstance(kind, (list, tuple)) else options.get("options") if kind == "COMBO" else None
            if choices is None and kind not in WIDGET_TYPES:
                continue  # a link-only input (MODEL, CLIP, ...)
            if options.get("forceInput"):
                continue
            widgets.append(name)
            if options.get(CONTROL_AFTER_GENERATE):
                widgets.append(f"{name}.{CONTROL_AFTER_GENERATE}")
            folder = _sentinel_folder(choices)
            if folder:
                model_inputs[name] = folder
    return NodeSchema(type=node_type, widgets=tuple(widgets), model_inputs=model_inputs, python_module=python_module)


def schemas_from_object_info(object_info: Mapping[str, Any]) -> dict[str, NodeSchema]:
    """Schemas of every node type in an ``object_info`` document."""
    out = {}
    for node_type, info in object_info.items():
        if not isinstance(info, Mapping) or not isinstance(info.get("input"), Mapping):
            continue
        out[node_type] = schema_from_input_types(
            node_type, info["input"], info.get("python_module"), info.get("input_order")
        )
    return out


def _sentinel_folder(choices: Any) -> str | None:
    if not isinstance(choices, (list, tuple)):
        return None
    for choice in choices:
        if isinstance(choice, str) and choice.startswith(SENTINEL_PREFIX):
            match = SENTINEL_RE.match(choice)
            if match:
                return match.group(1)
    return None


def sentinel_name(folder: str) -> str:
    """The file name that marks ``folder`` in a combo (``.yaml`` for configs, as ComfyUI filters them)."""
    return f"{SENTINEL_PREFIX}{folder}.{'yaml' if folder == 'configs' else 'safetensors'}"
