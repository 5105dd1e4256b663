"""Where each catalog came from and how old it is, or why it is missing: so that offline is visible.

With no network and no cache every node would be "no known pack" and every model "no known source",
silently. Each analysis report carries one ``CatalogStatus`` per catalog file, and a warning when the
node map or the model list could not be loaded (``catalog_warnings``).

    >>> [w.code for w in catalog_warnings([CatalogStatus("model-list.json", "missing", reason="offline")])]
    ['catalog_missing']
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..workflow.report_warning import ReportWarning

#: the catalogs without which Mend cannot name anything, and what is lost without each
ESSENTIAL = {
    "extension-node-map.json": "ComfyUI-Manager's node map: no node pack can be named",
    "model-list.json": "ComfyUI-Manager's model list: models have no known source but the workflow's own links",
}


@dataclass(frozen=True)
class CatalogStatus:
    """``source``: ``pinned`` (a catalog folder), ``cache`` (Mend's), ``manager`` (an installed Manager's copy)
    or ``missing``; ``stale`` when older than ``MEND_CATALOG_MAX_AGE`` and a refresh failed."""

    name: str
    source: str
    path: str | None = None
    age_seconds: int | None = None
    stale: bool = False
    reason: str | None = None  # why it is missing, or why a stale copy is used

    def to_json(self) -> dict:
        return asdict(self)


def catalog_warnings(statuses: list[CatalogStatus]) -> list[ReportWarning]:
    """A warning for each essential catalog that is missing, and for each one used stale after a failed refresh."""
    out = []
    for status in statuses:
        lost = ESSENTIAL.get(status.name)
        if lost is None:
            continue
        if status.source == "missing":
            out.append(ReportWarning("catalog_missing", f"{status.name} could not be loaded ({status.reason}): {lost}"))
        elif status.stale:
            days = (status.age_seconds or 0) / 86400
            out.append(ReportWarning(
                "catalog_stale", f"{status.name} is {days:.1f} days old and could not be refreshed ({status.reason})"))
    return out
