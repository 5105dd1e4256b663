"""Which values of a workflow name model files, and which folder each belongs to.

The node's schema says exactly which input takes files from which folder. Where the schema is
unknown (a missing node type, a custom loader the host cannot describe) the values that look like
model files are taken (never URLs, placeholders, menu labels or a display node's text:
``not_model_values``), and their folder comes, in order, from the workflow's own ``models``
metadata (``directory``), the node (``folder_hints``: the pack loader table, the input's name, the
node type's words), then the file name (``folder_guess``). A loader whose pack fetches its own
weights (``pack_fetched``) marks its files ``fetched_by_pack``.

    >>> from .reader import WorkflowNode
    >>> node = WorkflowNode(id="4", type="LoraLoader", widgets=["a.safetensors", 1.0])
    >>> schema = NodeSchema("LoraLoader", ("lora_name", "strength"), {"lora_name": "loras"})
    >>> [(r.input, r.widget_index, r.value, r.folder) for r in model_refs_of_node(node, schema)]
    [('lora_name', 0, 'a.safetensors', 'loras')]
    >>> [(r.value, r.folder, r.folder_source) for r in model_refs_of_node(
    ...     WorkflowNode(id="5", type="WanVideoLoraSelect", widgets=["x_i2v.safetensors", 1.0]), None)]
    [('x_i2v.safetensors', 'loras', 'loader_table')]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..node_schema import NodeSchema
from .folder_guess import guess_folder
from .folder_hints import folder_from_node
from .not_model_values import is_display_node, why_not_a_file
from .pack_fetched import fetches_own_weights
from .reader import ModelMeta, Workflow, WorkflowNode
from .report_warning import ReportWarning

#: ``folder_source`` values, strongest evidence first; the last two are guesses (said as such, never auto)
FOLDER_SOURCES = ("schema", "metadata", "loader_table", "model_list", "node_hint", "guess", "unknown")
GUESSED_SOURCES = frozenset({"node_hint", "guess", "unknown"})
#: core modules' schemas were recorded with sentinels, so an input they do not mark takes no model file
CORE_MODULES = ("nodes", "comfy_extras", "comfy_api_nodes", "comfy_api")
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
    folder_source: str = "schema"  # one of FOLDER_SOURCES
    mode: int = 0
    fetched_by_pack: bool = False  # the loader's pack downloads it itself on first use (``pack_fetched``)

    @property
    def folder_guessed(self) -> bool:
        return self.folder_source in GUESSED_SOURCES

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
            "fetched_by_pack": self.fetched_by_pack,
        }
        if self.meta:
            out["meta"] = self.meta.to_json()
        return out


def looks_like_model_file(value: object) -> bool:
    """A value a loader could list: a model file's extension, one line, and not a URL, placeholder or label."""
    return (isinstance(value, str) and value.lower().endswith(MODEL_EXTENSIONS) and "\n" not in value
            and why_not_a_file(value) is None)


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
    # A schema that names model inputs is exact, and so is a core schema that names none; anything else
    # (a missing node type, a loader that builds its list without folder_paths) is scanned for values
    # that look like model files, unless the node only displays values.
    if schema and schema.model_inputs:
        found = _from_schema(node, schema)
    elif (schema and _is_core(schema)) or is_display_node(node.type):
        return []
    else:
        found = _from_values(node, schema)
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
            folder, source = folder_from_node(node.type, input_name)
        if folder is None:
            folder = guess_folder(value)
            source = "guess" if folder else "unknown"
        fetched = source != "schema" and fetches_own_weights(node.type)
        refs.append(ModelRef(node.id, node.type, value, folder, input_name, index, meta, source, node.mode, fetched))
    return refs


def placeholder_warning(workflow: Workflow) -> ReportWarning | None:
    """One warning when values are unfilled template placeholders (``{{checkpoint}}``): they name no file."""
    found = [(n.id, v) for n in workflow.nodes for v in _strings(n) if why_not_a_file(v) == "placeholder"]
    if not found:
        return None
    shown = ", ".join(sorted({v for _, v in found})[:3])
    return ReportWarning("template_placeholders", f"this workflow is a template with unfilled values ({shown}"
                         f"{', …' if len({v for _, v in found}) > 3 else ''}): fill them in before it can run; "
                         "they are not listed as missing files", found[0][0])


def _strings(node: WorkflowNode) -> list[str]:
    values = node.inputs.values() if node.inputs is not None else (
        node.widgets.values() if isinstance(node.widgets, dict) else node.widgets or [])
    return [v for v in values if isinstance(v, str) and "{" in v]


def _is_core(schema: NodeSchema) -> bool:
    module = schema.python_module or ""
    return module.split(".", 1)[0] in CORE_MODULES


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
        if isinstance(value, str) and value and value.lower() not in ("none", "null") and why_not_a_file(value) is None:
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
