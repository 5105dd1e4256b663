"""The shared ``browser_page`` fixture in a real ComfyUI: the editor and Mend load with no page or console error."""

from __future__ import annotations

from .browser import open_editor
from .comfyui_process import ComfyUI


def test_the_editor_opens_with_mend_and_no_errors(browser_page, comfyui: ComfyUI):
    open_editor(browser_page, comfyui)
    assert browser_page.evaluate("() => typeof window.__mend.getState") == "function"
