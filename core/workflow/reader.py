"""Reading a workflow: every node it runs, flattened, in UI (v0.4 / v1) or API format.

Subgraph instances are expanded into their inner nodes with id paths (``12:5`` is node 5
inside the subgraph instance 12), legacy group nodes into their inner nodes, and muted or
bypassed nodes are kept but marked. Which widget of a node holds a model file is not this
module's business: ``model_refs`` decides that with the host's node schemas.

What ComfyUI's frontend loads, this reads: a broken part (a dangling link, a node without a type, an
odd field) is skipped and said in ``Workflow.warnings``; only a document that is no workflow at all
(not an object, no ``nodes`` list and no API prompt) raises ``InvalidWorkflow``.

    >>> nodes = read_workflow({"1": {"class_type": "KSampler", "inputs": {}}}).nodes
    >>> (nodes[0].id, nodes[0].type)
    ('1', 'KSampler')
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidWorkflow
from .report_warning import ReportWarning

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
    warnings: list[ReportWarning] = field(default_factory=list)  # what was read past, and why

    def node_types(self) -> set[str]:
        return {n.type for n in self.nodes}


def read_workflow(data: Any) -> Workflow:
    """Read a parsed workflow JSON document of any supported format."""
    if not isinstance(data, dict):
        raise InvalidWorkflow("a workflow is a JSON object", field="$")
    if isinstance(data.get("workflow"), dict) and "nodes" in data["workflow"]:
        data = data["workflow"]  # a PNG's extra_pnginfo or a saved history entry
    if isinstance(data.get("nodes"), list):
        return _UIReader(data).read()
    if isinstance(data.get("prompt"), dict):
        data = data["prompt"]  # the body of POST /prompt
    nodes = {k: v for k, v in data.items() if isinstance(v, dict) and "class_type" in v}
    if nodes:  # an API prompt; other top-level keys (a tool's "_meta", notes) are not nodes: read past them
        workflow = _read_api(nodes)
        others = [str(k) for k in data if k not in nodes]
        if others:
            shown = ", ".join(repr(k[:40]) for k in others[:5])
            shown += f" and {len(others) - 5} more" if len(others) > 5 else ""
            workflow.warnings.insert(0, ReportWarning(
                "not_a_node", f"top-level {'keys' if len(others) > 1 else 'key'} {shown} of the API prompt "
                f"{'are' if len(others) > 1 else 'is'} not a node (no class_type): ignored"))
        return workflow
    raise InvalidWorkflow(
        "not a workflow: expected a UI workflow with 'nodes' or an API prompt of {id: {class_type, inputs}}",
        field="$",
    )


def _read_api(data: dict) -> Workflow:
    workflow = Workflow(format="api")
    for node_id, node in data.items():
        class_type = node.get("class_type")
        if not isinstance(class_type, str) or not class_type:
            workflow.warnings.append(ReportWarning(
                "node_without_type", "a node without a class_type was skipped", str(node_id), f"{node_id}.class_type"))
            continue
        inputs = node.get("inputs", {})
        if not isinstance(inputs, dict):
            workflow.warnings.append(ReportWarning(
                "odd_field", "inputs is not an object; read as empty", str(node_id), f"{node_id}.inputs"))
            inputs = {}
        literal = {k: v for k, v in inputs.items() if not _is_api_link(v)}
        title = (node.get("_meta") or {}).get("title") if isinstance(node.get("_meta"), dict) else None
        workflow.nodes.append(WorkflowNode(id=str(node_id), type=class_type, title=title, inputs=literal))
    return workflow


def _is_api_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[1], int) and isinstance(value[0], str)


class _UIReader:
    """Walks a UI workflow, expanding subgraphs (with cycle detection) and group nodes; collects warnings."""

    def __init__(self, data: dict) -> None:
        self.data = data
        self.warnings: list[ReportWarning] = []
        self.subgraphs: dict[str, dict] = {}
        self._collect_subgraphs(data, "definitions")
        self.groups = _group_node_definitions(data)

    def warn(self, code: str, message: str, node_id: str | None = None, where: str | None = None) -> None:
        self.warnings.append(ReportWarning(code, message, node_id, where))

    def _collect_subgraphs(self, graph: dict, where: str) -> None:
        definitions = graph.get("definitions")
        if definitions is None:
            return
        if not isinstance(definitions, dict):
            self.warn("odd_field", "definitions is not an object; its subgraphs were not read", where=where)
            return
        subgraphs = definitions.get("subgraphs", [])
        if not isinstance(subgraphs, list):
            self.warn("odd_field", "definitions.subgraphs is not a list; not read", where=f"{where}.subgraphs")
            return
        for i, sg in enumerate(subgraphs):
            if not isinstance(sg, dict) or not isinstance(sg.get("id"), str):
                self.warn("odd_field", "a subgraph without a string id was skipped", where=f"{where}.subgraphs[{i}]")
                continue
            self.subgraphs.setdefault(sg["id"], sg)
            self._collect_subgraphs(sg, f"{where}.subgraphs[{i}].definitions")

    def read(self) -> Workflow:
        version = self.data.get("version")
        workflow = Workflow(format="ui", version=str(version) if version is not None else None)
        workflow.models = self._models(self.data.get("models"), "models", None)
        workflow.nodes = list(self._walk(self.data, prefix="", stack=(), where="", outer_mode=MODE_NORMAL))
        workflow.warnings = self.warnings
        return workflow

    def _walk(
        self, graph: dict, prefix: str, stack: tuple[str, ...], where: str, outer_mode: int
    ) -> Iterator[WorkflowNode]:
        nodes = graph.get("nodes")
        if not isinstance(nodes, list):
            self.warn("odd_field", "a subgraph without a nodes list was read as empty", where=f"{where}nodes")
            return
        ids = set()
        for i, node in enumerate(nodes):
            if not isinstance(node, dict):
                self.warn("odd_field", "a node that is not an object was skipped", where=f"{where}nodes[{i}]")
                continue
            node_id = node.get("id")
            ids.add(node_id if isinstance(node_id, (int, str)) else None)  # an object id is judged in _node
        self._check_links(graph.get("links"), ids, prefix, f"{where}links")
        for i, node in enumerate(nodes):
            if isinstance(node, dict):
                yield from self._node(node, prefix, stack, f"{where}nodes[{i}]", outer_mode)

    def _node(
        self, node: dict, prefix: str, stack: tuple[str, ...], where: str, outer_mode: int
    ) -> Iterator[WorkflowNode]:
        node_type = node.get("type")
        node_id = node.get("id")
        if not isinstance(node_id, (int, str)) or isinstance(node_id, bool):
            self.warn("odd_field", "a node without a number or string id was skipped", where=f"{where}.id")
            return
        path = f"{prefix}{node_id}"
        if not isinstance(node_type, str) or not node_type:
            self.warn("node_without_type", "a node without a type was skipped", path, f"{where}.type")
            return
        mode = node.get("mode", MODE_NORMAL)
        if not isinstance(mode, int) or isinstance(mode, bool):
            self.warn("odd_field", "mode is not an integer; read as normal", path, f"{where}.mode")
            mode = MODE_NORMAL
        mode = outer_mode if outer_mode != MODE_NORMAL else mode
        if node_type in self.subgraphs:
            if node_type in stack:
                self.warn("subgraph_cycle", f"subgraph {node_type} contains itself (through {' > '.join(stack)}); "
                          "the inner instance was not expanded", path, f"{where}.type")
                return
            inner = self.subgraphs[node_type]
            yield from self._walk(inner, f"{path}:", (*stack, node_type), f"subgraph[{node_type}].", mode)
            return
        group_name = node_type[len("workflow>") :] if node_type.startswith(GROUP_NODE_PREFIXES) else None
        if group_name in self.groups:
            for j, inner in enumerate(self.groups[group_name]):
                inner_path = f"{path}:{inner.get('index', j)}"
                inner_type = inner.get("type")
                if not isinstance(inner_type, str) or not inner_type:
                    self.warn("node_without_type", "a group node's inner node without a type was skipped",
                              inner_path, f"{where}.group[{j}].type")
                    continue
                yield self._ui_node(inner, inner_type, inner_path, mode, f"{where}.group[{j}]", group_name)
            return
        yield self._ui_node(node, node_type, path, mode, where, None)

    def _ui_node(self, node: dict, node_type: str, path: str, mode: int, where: str, group: str | None) -> WorkflowNode:
        props = node.get("properties", {})
        if props is not None and not isinstance(props, dict):
            self.warn("odd_field", "properties is not an object; ignored", path, f"{where}.properties")
        props = props if isinstance(props, dict) else {}
        widgets = node.get("widgets_values")
        if widgets is not None and not isinstance(widgets, (list, dict)):
            self.warn("odd_field", "widgets_values is neither a list nor an object; ignored", path,
                      f"{where}.widgets_values")
            widgets = None
        return WorkflowNode(
            id=path,
            type=node_type,
            mode=mode,
            title=node.get("title") if isinstance(node.get("title"), str) else None,
            # stamps as written: validating them is the ranking's business, which says what it ignored and why
            cnr_id=_str_or_none(props.get("cnr_id")),
            aux_id=_str_or_none(props.get("aux_id")),
            ver=_str_or_none(props.get("ver")),
            widgets=widgets,
            models=self._models(props.get("models"), f"{where}.properties.models", path),
            group=group,
        )


    def _check_links(self, links: Any, ids: set, prefix: str, where: str) -> None:
        """Say (never refuse) links that name nodes the graph does not have (subgraph I/O nodes are -10/-20)."""
        if links is None:
            return
        if not isinstance(links, list):
            self.warn("odd_field", "links is not a list; ignored", where=where)
            return
        for i, link in enumerate(links):
            if link is None:
                continue
            if isinstance(link, list) and len(link) >= 5:
                origin, target = link[1], link[3]
            elif isinstance(link, dict):
                origin, target = link.get("origin_id"), link.get("target_id")
            else:
                self.warn("odd_link", f"link {i} is neither [id, origin, slot, target, slot, type] nor an object",
                          where=f"{where}[{i}]")
                continue
            def known(end: Any) -> bool:
                return isinstance(end, (int, str)) and (end in ids or end in (-10, -20))

            if not (known(origin) and known(target)):
                absent, other = (origin, target) if not known(origin) else (target, origin)
                self.warn("dangling_link", f"link {i} names node {absent!r}, which is not in the graph",
                          f"{prefix}{other}" if known(other) and other in ids else None, f"{where}[{i}]")

    def _models(self, value: Any, where: str, node_id: str | None) -> tuple[ModelMeta, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.warn("odd_field", "models is not a list; ignored", node_id, where)
            return ()
        out = []
        for i, m in enumerate(value):
            if not isinstance(m, dict) or not isinstance(m.get("name"), str):
                self.warn("odd_field", "a models entry without a string name was skipped", node_id, f"{where}[{i}]")
                continue
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


def _group_node_definitions(data: dict) -> dict[str, list[dict]]:
    groups = ((data.get("extra") or {}).get("groupNodes")) if isinstance(data.get("extra"), dict) else None
    if not isinstance(groups, dict):
        return {}
    return {
        name: [n for n in g.get("nodes", []) if isinstance(n, dict)]
        for name, g in groups.items()
        if isinstance(g, dict) and isinstance(g.get("nodes", []), list)
    }


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
