"""The example node of docs/for-extension-authors.md runs as written, with Mend's real helpers and wrapper."""

from __future__ import annotations

import re
import time
from pathlib import Path

from mend.core import progress_text

from .nodes.test_nodes_concurrent_prompts import server  # noqa: F401 (fixture: Mend's wrapper on a capturing server)
from .test_progress_text import comfy_utils  # noqa: F401 (fixture)

DOC = Path(__file__).resolve().parents[1] / "docs" / "for-extension-authors.md"


def example_source() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    (source,) = [b for b in blocks if "class CountSteps" in b]
    return source


def test_the_example_node_sends_its_steps_to_the_queuing_client(server, comfy_utils, monkeypatch):
    progress_text.register_public_module()  # what mounting Mend does: `import mend_progress` works
    monkeypatch.setattr(time, "sleep", lambda _s: None)
    namespace: dict = {}
    exec(compile(example_source(), str(DOC), "exec"), namespace)
    node = namespace["NODE_CLASS_MAPPINGS"]["CountSteps"]()
    with comfy_utils.CurrentNodeContext("prompt-a", "4", None):
        assert node.run(3) == (3,)
    assert server.frames("client-a") == ["step 1/3", "step 2/3", "step 3/3"]
    assert [t["node_id"] for t in server.twins("client-a")] == ["4", "4", "4"]
    assert not server.frames("client-b") and not server.frames(None)
