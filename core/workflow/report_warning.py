"""A warning in an analysis report: something Mend read past or did not trust, said instead of refusing.

What ComfyUI's frontend loads, Mend reads; a broken part of a workflow (a dangling link, an odd field),
a stamp that is not a pack's name, a catalog that could not be loaded: each becomes one of these.

    >>> ReportWarning("dangling_link", "link 3 names node 99, which is not in the graph", field="links[3]").to_json()
    {'code': 'dangling_link', 'message': 'link 3 names node 99, which is not in the graph', 'field': 'links[3]'}
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReportWarning:
    """``code`` is stable (docs/design.md, Warnings); ``node_id``: the node's id path when one node is meant."""

    code: str
    message: str
    node_id: str | None = None
    field: str | None = None

    def to_json(self) -> dict:
        out = {"code": self.code, "message": self.message}
        if self.node_id is not None:
            out["node_id"] = self.node_id
        if self.field is not None:
            out["field"] = self.field
        return out
