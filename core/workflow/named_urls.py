"""Download links a workflow carries in its own widgets, by the file name they end in.

Nodes that download their own files ("Hugging Face Download Model", URL loaders) hold a link such as
``https://huggingface.co/Kijai/WanVideo_comfy_fp8_scaled/blob/main/T2V/x.safetensors`` and hand the file
to a loader through a link, so the loader's stale widget names the same ``x.safetensors``. The link is
never a missing file (``not_model_values``), but it is a source for the file it ends in.

    >>> from .reader import WorkflowNode, Workflow
    >>> node = WorkflowNode(id="1", type="HF Download", widgets=["vae", "https://h.co/a/b/resolve/main/x.safetensors"])
    >>> urls_by_file_name(Workflow(format="ui", nodes=[node]))
    {'x.safetensors': ['https://h.co/a/b/resolve/main/x.safetensors']}
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from .model_refs import MODEL_EXTENSIONS
from .reader import Workflow


def urls_by_file_name(workflow: Workflow) -> dict[str, list[str]]:
    """Lower-case file name -> the https links (in node order, once each) that end in it."""
    out: dict[str, list[str]] = {}
    for node in workflow.nodes:
        values = node.inputs.values() if node.inputs is not None else (
            node.widgets.values() if isinstance(node.widgets, dict) else node.widgets or [])
        for value in values:
            if not isinstance(value, str) or not value.startswith("https://"):
                continue
            name = unquote(urlsplit(value).path.rsplit("/", 1)[-1]).lower()
            if name.endswith(MODEL_EXTENSIONS) and value not in out.setdefault(name, []):
                out[name].append(value)
    return out
