"""Every control the panel and its toast render was clicked by some browser test of this run.

``CONTROLS`` in ``web/js/mend/panel.js`` lists them (``tests/js/controls.test.mjs`` checks the list
against the code); the browser tests record each control they click (``tests/e2e/browser.py``). This
module's name sorts last, so it runs after the journeys.
"""

from __future__ import annotations

import re

import pytest

from .browser import CLICKED_FILE, clicked
from .comfyui_process import REPO


def controls() -> set[str]:
    source = (REPO / "web" / "js" / "mend" / "panel.js").read_text()
    block = re.search(r"export const CONTROLS = \[(.*?)\];", source, re.S)
    assert block, "CONTROLS not found in panel.js"
    return set(re.findall(r'"([a-z-]+)"', block.group(1)))


def test_every_control_was_clicked():
    if not CLICKED_FILE.exists():
        pytest.skip("no browser test ran in this session (they need COMFYUI_PATH and Chromium)")
    missing = controls() - clicked()
    assert not missing, f"controls no browser test clicked: {sorted(missing)}"
