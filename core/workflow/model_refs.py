"""Which values of a workflow name model files, and which folder each belongs to.

The node's schema says exactly which input takes files from which folder. Where the schema is
unknown (a missing node type, a custom loader the host cannot describe) two fallbacks apply:
the workflow's own ``models`` metadata (``directory``), then the file extension.

    >>> from .workflow import WorkflowNode
    >>> from .folder_guess import guess_folder
from .node_schema import NodeSchema
    >>> node = WorkflowNode(id="4", type="LoraLoader", widgets=["a.safetensors", 1.0])
    >>> schema = NodeSchema("LoraLoader", ("lora_name", "strength"), {"lora_name": "loras"})
    >>> [(r.input, r.widget_index, r.value, r.folder) for r in model_refs_of_node(node, schema)]
    [('lora_name', 0, 'a.safetensors', 'loras')]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..node_schema import NodeSchema
from .folder_guess import guess_folder
from .reader import ModelMeta, Workflow, WorkflowNode

MODEL_EXTENSIONS = (
    ".safetensors", ".sft", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".onnx", ".pt2", ".pkl",
)
PICKLE_EXTENSIONS = (".ckpt", ".pt", ".pth", ".bin", ".pkl")


@dataclass(frozen=True, slots=True)
class ModelRef:
    """One place in a workflow that names a model file."""

    node_id: str
    node_type: str
    value: str
    folder: str | None  # None: unknown, the user must say
    input: str | None = None  # input name, when known
    widget_index: int | None = None  # UI format: index in widgets_values
    meta: ModelMeta | None = None  # the workflow's own metadata for this file
    folder_source: str = "schema"  # schema | metadata | guess | unknown
    mode: int = 0

    @property
    def key(self) -> str:
        """Stable id of this reference inside its workflow: ``node path/input or #index``."""
        return f"{self.node_id}/{self.input if self.input else f'#{self.widget_index}'}"

    def to_json(self) -> dict:
        out = {
            "key": self.key,
            "node_id": self.node_id,
            "node_type": self.node_type,
            "input": self.input,
            "widget_index": self.widget_index,
            "value": self.value,
            "folder": self.folder,
            "folder_source": self.folder_source,
            "mode": self.mode,
        }
        if self.meta:
            out["meta"] = self.meta.to_json()
        return out


def looks_like_model_file(value: object) -> bool:
    return isinstance(value, str) and value.lower().endswith(MODEL_EXTENSIONS) and "\n" not in value


def model_refs(workflow: Workflow, schemas: Mapping[str, NodeSchema]) -> list[ModelRef]:
    """Every model reference in the workflow, in node order."""
    refs: list[ModelRef] = []
    workflow_metas = {m.name: m for m in workflow.models}
    for node in workflow.nodes:
        refs.extend(model_refs_of_node(node, schemas.get(node.type), workflow_metas))
    return refs


def model_refs_of_node(
    node: WorkflowNode, schema: NodeSchema | None, workflow_metas: Mapping[str, ModelMeta] | None = None
) -> list[ModelRef]:
    # A schema that names model inputs is exact; anything else (a missing node type, a loader
    # that builds its list without folder_paths) is scanned for values that look like model files.
    found = _from_schema(node, schema) if schema and schema.model_inputs else _from_values(node, schema)
    if not found:
        return []
    metas = {**(workflow_metas or {}), **{m.name: m for m in node.models}} if node.models else (workflow_metas or {})
    refs = []
    for input_name, index, value, folder in found:
        meta = metas.get(value) or metas.get(value.replace("\\", "/").rsplit("/", 1)[-1])
        source = "schema" if folder else "unknown"
        if folder is None and meta and meta.directory:
            folder, source = meta.directory, "metadata"
        if folder is None:
            folder = guess_folder(value)
            source = "guess" if folder else "unknown"
        refs.append(ModelRef(node.id, node.type, value, folder, input_name, index, meta, source, node.mode))
    return refs


def _from_schema(node: WorkflowNode, schema: NodeSchema) -> list[tuple[str | None, int | None, str, str | None]]:
    out = []
    for name, folder in schema.model_inputs.items():
        if node.inputs is not None:
            value, index = node.inputs.get(name), None
        elif isinstance(node.widgets, dict):
            value, index = node.widgets.get(name), None
        else:
            index = schema.widget_index(name)
            widgets = node.widgets or []
            value = widgets[index] if index is not None and index < len(widgets) else None
        if isinstance(value, str) and value and value.lower() not in ("none", "null"):
            out.append((name, index, value, folder))
    return out


def _from_values(
    node: WorkflowNode, schema: NodeSchema | None
) -> list[tuple[str | None, int | None, str, str | None]]:
    """Fallback: every string that looks like a model file name (unknown or custom loaders)."""
    if node.inputs is not None:
        return [(k, None, v, None) for k, v in node.inputs.items() if looks_like_model_file(v)]
    if isinstance(node.widgets, dict):
        return [(k, None, v, None) for k, v in node.widgets.items() if looks_like_model_file(v)]
    out = []
    for i, v in enumerate(node.widgets or []):
        if looks_like_model_file(v):
            name = schema.widgets[i] if schema and i < len(schema.widgets) else None
            out.append((name, i, v, None))
    return out
