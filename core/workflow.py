"""Reading a workflow: every node it runs, flattened, in UI (v0.4 / v1) or API format.

Subgraph instances are expanded into their inner nodes with id paths (``12:5`` is node 5
inside the subgraph instance 12), legacy group nodes into their inner nodes, and muted or
bypassed nodes are kept but marked. Which widget of a node holds a model file is not this
module's business: ``model_refs`` decides that with the host's node schemas.

    >>> nodes = read_workflow({"1": {"class_type": "KSampler", "inputs": {}}}).nodes
    >>> (nodes[0].id, nodes[0].type)
    ('1', 'KSampler')
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidField, InvalidWorkflow, SubgraphCycle

MODE_NORMAL, MODE_MUTED, MODE_BYPASSED = 0, 2, 4
GROUP_NODE_PREFIXES = ("workflow>", "workflow/")


@dataclass(frozen=True, slots=True)
class ModelMeta:
    """One entry of a workflow's ``models`` metadata: where the author says a file comes from."""

    name: str
    url: str | None = None
    directory: str | None = None
    hash: str | None = None
    hash_type: str | None = None

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in ("name", "url", "directory", "hash", "hash_type") if getattr(self, k)}


@dataclass(frozen=True, slots=True)
class WorkflowNode:
    """A node that runs: its id path, type, mode and the raw values that may name models."""

    id: str
    type: str
    mode: int = MODE_NORMAL
    title: str | None = None
    cnr_id: str | None = None
    aux_id: str | None = None
    ver: str | None = None
    widgets: list | dict | None = None  # UI format: widgets_values
    inputs: Mapping[str, Any] | None = None  # API format: literal inputs by name
    models: tuple[ModelMeta, ...] = ()
    group: str | None = None  # legacy group node it came from

    @property
    def muted(self) -> bool:
        return self.mode == MODE_MUTED

    @property
    def bypassed(self) -> bool:
        return self.mode == MODE_BYPASSED


@dataclass
class Workflow:
    """A read workflow: its format, flattened nodes and workflow-level model metadata."""

    format: str  # "ui" or "api"
    nodes: list[WorkflowNode] = field(default_factory=list)
    models: tuple[ModelMeta, ...] = ()
    version: str | None = None

    def node_types(self) -> set[str]:
        return {n.type for n in self.nodes}


def read_workflow(data: Any) -> Workflow:
    """Read a parsed workflow JSON document of any supported format."""
    if not isinstance(data, dict):
        raise InvalidWorkflow("a workflow is a JSON object", field="$")
    if isinstance(data.get("workflow"), dict) and "nodes" in data["workflow"]:
        data = data["workflow"]  # a PNG's extra_pnginfo or a saved history entry
    if "nodes" in data:
        return _UIReader(data).read()
    if isinstance(data.get("prompt"), dict):
        data = data["prompt"]  # the body of POST /prompt
    if data and all(isinstance(v, dict) and "class_type" in v for v in data.values()):
        return _read_api(data)
    raise InvalidWorkflow(
        "not a workflow: expected a UI workflow with 'nodes' or an API prompt of {id: {class_type, inputs}}",
        field="$",
    )


def _read_api(data: dict) -> Workflow:
    nodes = []
    for node_id, node in data.items():
        class_type = node.get("class_type")
        if not isinstance(class_type, str) or not class_type:
            raise InvalidField("class_type must be a non-empty string", field=f"{node_id}.class_type")
        inputs = node.get("inputs", {})
        if not isinstance(inputs, dict):
            raise InvalidField("inputs must be an object", field=f"{node_id}.inputs")
        literal = {k: v for k, v in inputs.items() if not _is_api_link(v)}
        title = (node.get("_meta") or {}).get("title") if isinstance(node.get("_meta"), dict) else None
        nodes.append(WorkflowNode(id=str(node_id), type=class_type, title=title, inputs=literal))
    return Workflow(format="api", nodes=nodes)


def _is_api_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[1], int) and isinstance(value[0], str)


class _UIReader:
    """Walks a UI workflow, expanding subgraphs (with cycle detection) and group nodes."""

    def __init__(self, data: dict) -> None:
        self.data = data
        self.subgraphs: dict[str, dict] = {}
        self._collect_subgraphs(data, "definitions")
        self.groups = _group_node_definitions(data)

    def _collect_subgraphs(self, graph: dict, where: str) -> None:
        definitions = graph.get("definitions")
        if definitions is None:
            return
        if not isinstance(definitions, dict):
            raise InvalidField("definitions must be an object", field=where)
        subgraphs = definitions.get("subgraphs", [])
        if not isinstance(subgraphs, list):
            raise InvalidField("definitions.subgraphs must be a list", field=f"{where}.subgraphs")
        for i, sg in enumerate(subgraphs):
            if not isinstance(sg, dict) or not isinstance(sg.get("id"), str):
                raise InvalidField("a subgraph needs a string id", field=f"{where}.subgraphs[{i}]")
            self.subgraphs.setdefault(sg["id"], sg)
            self._collect_subgraphs(sg, f"{where}.subgraphs[{i}].definitions")

    def read(self) -> Workflow:
        version = self.data.get("version")
        workflow = Workflow(format="ui", version=str(version) if version is not None else None)
        workflow.models = _read_models(self.data.get("models"), "models")
        workflow.nodes = list(self._walk(self.data, prefix="", stack=(), where="", outer_mode=MODE_NORMAL))
        return workflow

    def _walk(
        self, graph: dict, prefix: str, stack: tuple[str, ...], where: str, outer_mode: int
    ) -> Iterator[WorkflowNode]:
        nodes = graph.get("nodes")
        if not isinstance(nodes, list):
            raise InvalidField("nodes must be a list", field=f"{where}nodes")
        ids = set()
        for i, node in enumerate(nodes):
            if not isinstance(node, dict):
                raise InvalidField("a node must be an object", field=f"{where}nodes[{i}]")
            node_id = node.get("id")
            ids.add(node_id if isinstance(node_id, (int, str)) else None)  # an object id is judged in _node
        _check_links(graph.get("links"), ids, f"{where}links")
        for i, node in enumerate(nodes):
            yield from self._node(node, prefix, stack, f"{where}nodes[{i}]", outer_mode)

    def _node(
        self, node: dict, prefix: str, stack: tuple[str, ...], where: str, outer_mode: int
    ) -> Iterator[WorkflowNode]:
        node_type = node.get("type")
        node_id = node.get("id")
        if not isinstance(node_type, str) or not node_type:
            raise InvalidField("node type must be a non-empty string", field=f"{where}.type")
        if not isinstance(node_id, (int, str)) or isinstance(node_id, bool):
            raise InvalidField("node id must be a number or string", field=f"{where}.id")
        mode = node.get("mode", MODE_NORMAL)
        if not isinstance(mode, int):
            raise InvalidField("mode must be an integer", field=f"{where}.mode")
        mode = outer_mode if outer_mode != MODE_NORMAL else mode
        path = f"{prefix}{node_id}"
        if node_type in self.subgraphs:
            if node_type in stack:
                raise SubgraphCycle(
                    f"subgraph {node_type} contains itself (through {' > '.join(stack)})", field=f"{where}.type"
                )
            inner = self.subgraphs[node_type]
            yield from self._walk(inner, f"{path}:", (*stack, node_type), f"subgraph[{node_type}].", mode)
            return
        group_name = node_type[len("workflow>") :] if node_type.startswith(GROUP_NODE_PREFIXES) else None
        if group_name in self.groups:
            for j, inner in enumerate(self.groups[group_name]):
                yield _ui_node(inner, f"{path}:{inner.get('index', j)}", mode, f"{where}.group[{j}]", group_name)
            return
        yield _ui_node(node, path, mode, where, None)


def _ui_node(node: dict, path: str, mode: int, where: str, group: str | None) -> WorkflowNode:
    props = node.get("properties") or {}
    if not isinstance(props, dict):
        raise InvalidField("properties must be an object", field=f"{where}.properties")
    widgets = node.get("widgets_values")
    if widgets is not None and not isinstance(widgets, (list, dict)):
        raise InvalidField("widgets_values must be a list or object", field=f"{where}.widgets_values")
    node_type = node.get("type")
    if not isinstance(node_type, str) or not node_type:
        raise InvalidField("node type must be a non-empty string", field=f"{where}.type")
    return WorkflowNode(
        id=path,
        type=node_type,
        mode=mode if isinstance(node.get("mode", 0), int) else MODE_NORMAL,
        title=node.get("title") if isinstance(node.get("title"), str) else None,
        cnr_id=_str_or_none(props.get("cnr_id")),
        aux_id=_str_or_none(props.get("aux_id")),
        ver=_str_or_none(props.get("ver")),
        widgets=widgets,
        models=_read_models(props.get("models"), f"{where}.properties.models"),
        group=group,
    )


def _group_node_definitions(data: dict) -> dict[str, list[dict]]:
    groups = ((data.get("extra") or {}).get("groupNodes")) if isinstance(data.get("extra"), dict) else None
    if not isinstance(groups, dict):
        return {}
    return {
        name: [n for n in g.get("nodes", []) if isinstance(n, dict)]
        for name, g in groups.items()
        if isinstance(g, dict)
    }


def _check_links(links: Any, ids: set, where: str) -> None:
    """Refuse links that name nodes the graph does not have (subgraph I/O nodes are -10/-20)."""
    if links is None:
        return
    if not isinstance(links, list):
        raise InvalidField("links must be a list", field=where)
    for i, link in enumerate(links):
        if link is None:
            continue
        if isinstance(link, list) and len(link) >= 5:
            origin, target = link[1], link[3]
        elif isinstance(link, dict):
            origin, target = link.get("origin_id"), link.get("target_id")
        else:
            raise InvalidField("a link is [id, origin, slot, target, slot, type] or an object", field=f"{where}[{i}]")
        for end in (origin, target):
            if end not in ids and end not in (-10, -20):
                raise InvalidField(f"link {i} names unknown node {end!r}", field=f"{where}[{i}]")


def _read_models(value: Any, where: str) -> tuple[ModelMeta, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidField("models must be a list", field=where)
    out = []
    for i, m in enumerate(value):
        if not isinstance(m, dict) or not isinstance(m.get("name"), str):
            raise InvalidField("a models entry needs a string name", field=f"{where}[{i}]")
        out.append(
            ModelMeta(
                name=m["name"],
                url=_str_or_none(m.get("url")),
                directory=_str_or_none(m.get("directory")),
                hash=_str_or_none(m.get("hash")),
                hash_type=_str_or_none(m.get("hash_type")),
            )
        )
    return tuple(out)


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
