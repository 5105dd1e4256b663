"""One pack, one install: the version a workflow's stamps pin a pack at, the same on every row of that pack.

Nodes of one pack saved at different times carry different ``ver`` stamps (``1.2.2`` on one node,
``1.3.5`` on another, a commit on a third). Installing is per pack, so a report that showed each row's own
stamp would promise versions that cannot all land. ``one_pin_per_pack`` picks one and gives it to every
candidate of that pack, whatever row it is on and whatever evidence put it there:

- one stamped version: that one;
- several release versions (``1.2.2``, ``1.3.5``): the newest — a pack's newer release still has the nodes of
  an older one far more often than the reverse; when their major versions differ (``1.x`` and ``2.x``: the
  nodes' inputs may have changed) the rows become a question;
- release versions and commits: the newest release (a commit cannot be ordered without the repository);
- only commits, several of them: the default branch (the newest code), said, not asked: the pack is the
  same whichever commit, and asking which commit on every stamped pack would make every workflow a quiz.

    >>> newest_release(["1.2.2", "1.3.5", "v1.10.0"])
    'v1.10.0'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from ..catalog.install_plan import GIT_COMMIT

if TYPE_CHECKING:  # nodes.py imports this module; only the types are named here
    from .nodes import MissingNode, NodeCandidate

#: a release version as stamps write it (``1.3.5``, ``v2.0``, ``1.0.2512112053``)
RELEASE = re.compile(r"^v?\d+(\.\d+)*$")


def release_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.lstrip("v").split("."))


def newest_release(versions: Iterable[str]) -> str:
    return max(versions, key=release_key)


def one_pin_per_pack(missing: Mapping[str, MissingNode]) -> None:
    """Give every candidate of a pack the same version (and registry id), in place; mark rows to ask."""
    groups: dict[str, list[tuple[MissingNode, NodeCandidate]]] = {}
    for entry in missing.values():
        for candidate in entry.candidates:
            groups.setdefault(candidate.pack.repository.lower(), []).append((entry, candidate))
    for members in groups.values():
        stamped = sorted({c.version for _, c in members if c.version})
        stamp_id = next((c.stamp_id for _, c in members if c.stamp_id), None)
        version, note, ask = pick_pin(stamped)
        for entry, candidate in members:
            candidate.version, candidate.stamp_id, candidate.pin_note = version, stamp_id, note
            if ask and candidate is entry.candidates[0]:
                entry.pins_disagree = True


def pick_pin(stamped: list[str], who: str = "the workflow's nodes") -> tuple[str | None, str | None, bool]:
    """(the version to install, why when ``who`` named several, whether to ask)."""
    if len(stamped) <= 1:
        return (stamped[0] if stamped else None), None, False
    releases = [v for v in stamped if RELEASE.match(v)]
    commits = [v for v in stamped if GIT_COMMIT.match(v) and not RELEASE.match(v)]
    named = ", ".join(v[:12] if v in commits else v for v in stamped)
    if releases:
        newest = newest_release(releases)
        majors = {release_key(v)[0] for v in releases}
        note = f"{who} name {len(stamped)} versions of this pack ({named}): installs the newest " \
               f"release, {newest}"
        if len(majors) > 1:
            return newest, note + "; their major versions differ, so the nodes' inputs may have changed", True
        return newest, note, False
    if commits:
        return None, f"{who} name {len(stamped)} commits of this pack ({named}), which cannot be " \
                     "ordered without the repository: installs its default branch (its newest code)", False
    return None, f"{who} name {len(stamped)} versions of this pack ({named}), none of them a " \
                 "release or a commit: installs the newest", True
