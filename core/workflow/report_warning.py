"""A warning in an analysis report: something Mend read past or did not trust, said instead of refusing.

What ComfyUI's frontend loads, Mend reads; a broken part of a workflow (a dangling link, an odd field),
a stamp that is not a pack's name, a catalog that could not be loaded: each becomes one of these.

Each code also has a sentence for the user (``advice``) that says what it means for them and whether they
must act (``must_act``): the ``message`` is the detail, in Mend's words.

    >>> w = ReportWarning("dangling_link", "link 3 names node 99, which is not in the graph", field="links[3]")
    >>> w.to_json()["field"], w.must_act
    ('links[3]', False)
"""

from __future__ import annotations

from dataclasses import dataclass

#: code -> (must the user act?, what it means for them); an unknown code reads as "check the detail"
ADVICE: dict[str, tuple[bool, str]] = {
    "dangling_link": (False, "The workflow has a broken connection; ComfyUI loads it the same way. Nothing to do "
                             "unless that node misbehaves."),
    "odd_link": (False, "A connection Mend could not read was skipped; ComfyUI skips it too. Nothing to do."),
    "node_without_type": (False, "A node without a type was skipped; ComfyUI cannot run it either. Nothing to do "
                                 "unless the workflow needs it."),
    "odd_field": (False, "A field of the wrong kind was read as empty. Nothing to do."),
    "subgraph_cycle": (False, "A subgraph contains itself; it was read once. Nothing to do."),
    "stamp_ignored": (False, "A pack name saved in the workflow is malformed, so Mend ignored it and found the "
                             "pack from the node's name instead. Nothing to do; check the pack suggested."),
    "stamp_suspect": (False, "The pack names saved in the workflow look rewritten by a tool, so Mend trusts them "
                             "less. Check the packs suggested before installing."),
    "catalog_missing": (True, "A catalog Mend needs could not be loaded, so missing nodes or models may show no "
                              "source. Go online once, or point MEND_CATALOG_DIR (mend: --catalog-dir) at a copy "
                              "of ComfyUI-Manager's catalog files."),
    "catalog_stale": (False, "A catalog could not be refreshed; an older copy is used. Nothing to do, but newer "
                             "packs may be missing from it."),
    "template_placeholders": (True, "The workflow still has template placeholders where file names belong. Fill "
                                    "them in before running it."),
}


@dataclass(frozen=True, slots=True)
class ReportWarning:
    """``code`` is stable (docs/design.md, Warnings); ``node_id``: the node's id path when one node is meant."""

    code: str
    message: str
    node_id: str | None = None
    field: str | None = None

    @property
    def must_act(self) -> bool:
        """Whether the user has something to do about it (not just something to know)."""
        return ADVICE.get(self.code, (True, ""))[0]

    @property
    def advice(self) -> str:
        """What it means for the user, in their words."""
        return ADVICE.get(self.code, (True, "Check the detail below."))[1]

    def to_json(self) -> dict:
        out = {"code": self.code, "message": self.message, "advice": self.advice, "must_act": self.must_act}
        if self.node_id is not None:
            out["node_id"] = self.node_id
        if self.field is not None:
            out["field"] = self.field
        return out
