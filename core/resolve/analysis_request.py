"""The body of ``POST /mend/analyze``, unwrapped: the workflow, the id it is known by, whether to ask the registry.

The body is the workflow itself, or ``{"workflow": {...}, "workflow_id": "...", "registry": false}``.
Parsed where the analysis runs (a helper process, or a thread), so that a large body is never parsed
on ComfyUI's event loop; the id is resolved by the caller (it may need the workflows folder).

    >>> AnalyzeBody.from_data({"workflow": {"nodes": []}, "registry": False}).use_registry
    False
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InvalidField
from .target import UUID


@dataclass
class AnalyzeBody:
    workflow: Any
    workflow_id: Any = None  # as sent: resolve it with ``core.resolve.target_from_request``
    graph_uuid: str | None = None  # an unsaved UI graph's own id, used when no workflow_id is sent
    use_registry: bool = True

    @classmethod
    def from_data(cls, body: Any) -> AnalyzeBody:
        use_registry, workflow_id = True, None
        if isinstance(body, dict) and "workflow" in body and "nodes" not in body:
            use_registry = body.get("registry", True)
            if not isinstance(use_registry, bool):
                raise InvalidField("registry must be true or false", field="registry")
            workflow_id = body.get("workflow_id")
            body = body["workflow"]
        graph_uuid = body.get("id") if isinstance(body, dict) else None
        if not (isinstance(graph_uuid, str) and UUID.fullmatch(graph_uuid)):
            graph_uuid = None
        return cls(body, workflow_id, graph_uuid.lower() if graph_uuid else None, use_registry)
