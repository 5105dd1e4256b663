"""Strings that end like a model file but name none, so they never become missing model files.

A node the host cannot describe is scanned for values that look like file names; four kinds of
value only look like one:

- a URL (``https://huggingface.co/…/x.safetensors``): nodes that download their own files take one;
- a template placeholder (``{{checkpoint}}``): the workflow is a template with unfilled values, said
  once as a warning (``template_placeholders``);
- a menu label that is not a path (``KBlueLeaf/TIPO-200M-ft2 | TIPO-200M-ft2-F16.gguf``): ``|``, ``<``,
  ``>``, ``"``, ``*`` and ``?`` are in no file name a loader lists (Windows forbids them);
- any value of a display node (``easy showAnything``, ``ShowText|pysssss``, ``PreviewAny``, notes):
  what it shows is an output, not an input.

    >>> [why_not_a_file(v) for v in ("https://h/x.safetensors", "{{ckpt}}.safetensors", "a | b.gguf", "a/b.pt")]
    ['url', 'placeholder', 'label', None]
    >>> is_display_node("easy showAnything"), is_display_node("ShowText|pysssss"), is_display_node("LoraLoader")
    (True, True, False)
"""

from __future__ import annotations

import re

_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\$\{[^}]*\}")
_LABEL_CHARS = re.compile(r'[|<>"*?]')
_DISPLAY = re.compile(r"(^|[^a-z])(show|display|preview)|^(show|display|preview)|^(markdown)?note$", re.IGNORECASE)


def why_not_a_file(value: str) -> str | None:
    """``url``, ``placeholder`` or ``label`` when ``value`` cannot be a model file's path, else None."""
    if _URL.match(value):
        return "url"
    if _PLACEHOLDER.search(value):
        return "placeholder"
    if _LABEL_CHARS.search(value):
        return "label"
    return None


def is_display_node(node_type: str) -> bool:
    """A node that shows a value (text, any, a note): its widgets hold outputs or prose, never inputs."""
    return bool(_DISPLAY.search(node_type))
