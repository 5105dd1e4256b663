"""Plain-text tables for the terminal: columns measured by display width, cut cells marked.

A CJK character takes two terminal columns (``SDXL-AI-汽设_V1.safetensors``), a combining mark none, so
widths are counted the way a terminal draws them, not in code points. A cell cut to fit ends in ``…`` so
nobody copies a shortened name believing it whole; ``max_width=None`` (``mend check --wide``) cuts
nothing. The last column is never cut or padded.

    >>> display_width("汽设"), fit("abcdef", 4), pad("汽", 4) + "|"
    (4, 'abc…', '汽  |')
"""

from __future__ import annotations

import unicodedata

#: the widest a column other than the last may be before its cells are cut
COLUMN_MAX = 60
MARK = "…"


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: 2 for wide and full-width characters, 0 for combining marks."""
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in text)


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` columns, ending in ``…`` when cut."""
    if display_width(text) <= width:
        return text
    out, used = [], display_width(MARK)
    for ch in text:
        used += display_width(ch)
        if used > width:
            break
        out.append(ch)
    return "".join(out) + MARK


def pad(text: str, width: int) -> str:
    """``text`` followed by spaces up to ``width`` columns."""
    return text + " " * max(0, width - display_width(text))


def render(rows: list[tuple[str, ...]], max_width: int | None = COLUMN_MAX) -> list[str]:
    """The rows (the first is the header) as aligned lines, indented by two, and an empty line after."""
    limit = max_width if max_width is not None else float("inf")
    widths = [int(min(max(display_width(r[i]) for r in rows), limit)) for i in range(len(rows[0]) - 1)]
    out = []
    for r in rows:
        cells = [pad(fit(c, w), w) for c, w in zip(r[:-1], widths, strict=True)]
        out.append("  " + "  ".join([*cells, r[-1]]).rstrip())
    out.append("")
    return out
