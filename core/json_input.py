"""JSON from outside (request bodies, workflow files): parsed, then checked for what breaks later code.

Python's parser accepts two things Mend cannot use: nesting deep enough to exhaust the recursion
limit of any code that walks the value (the parser itself raises ``RecursionError`` a little deeper),
and lone surrogates (``"\\ud800"``), which are valid JSON escapes but cannot be written back as UTF-8
(a report, the manifest, a rewritten workflow). Both are refused here, once, with a named 400.
Real workflows nest at most 14 levels deep (all of ``../shared/corpus``); the limit is far above.

    >>> loads_checked('{"a": [1, "x"]}')
    {'a': [1, 'x']}
    >>> loads_checked('["\\\\ud800"]')
    Traceback (most recent call last):
    ...
    mend.core.errors.InvalidJSON: $[0] holds a lone surrogate (\\ud800), which is not text
"""

from __future__ import annotations

import json
from typing import Any

from .errors import InvalidJSON

MAX_DEPTH = 100


def loads_checked(text: str | bytes, where: str = "the body", field: str | None = None) -> Any:
    """``json.loads`` that raises ``InvalidJSON`` for bad JSON, too-deep nesting and lone surrogates."""
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise InvalidJSON(f"{where} nests deeper than {MAX_DEPTH} levels", field=field) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidJSON(f"{where} is not valid JSON: {exc}", field=field) from exc
    check_value(value, where, field)
    return value


def check_value(value: Any, where: str = "the body", field: str | None = None) -> None:
    """Refuse nesting beyond ``MAX_DEPTH`` and strings that are not valid Unicode (iterative: no recursion)."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "$")]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, str):
            _check_text(item, path, field)
        elif isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise InvalidJSON(f"{where} nests deeper than {MAX_DEPTH} levels (at {path[:80]})", field=field)
            if isinstance(item, dict):
                for key, sub in item.items():
                    _check_text(key, path, field)
                    if isinstance(sub, (str, dict, list)):
                        stack.append((sub, depth + 1, f"{path}.{key[:40]}"))
            else:
                stack.extend((sub, depth + 1, f"{path}[{i}]") for i, sub in enumerate(item)
                             if isinstance(sub, (str, dict, list)))


def _check_text(text: str, path: str, field: str | None) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start]
        raise InvalidJSON(f"{path[:80]} holds a lone surrogate (\\u{ord(bad):04x}), which is not text",
                          field=field or path[:80]) from None
