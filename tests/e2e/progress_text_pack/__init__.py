"""A tiny custom node pack for the e2e tests only (linked into the test ComfyUI's custom_nodes, never shipped).

*Progress Text Probe* sends ``count`` progress texts through ComfyUI's own
``PromptServer.instance.send_progress_text(text, unique_id)`` (``sid=None``, as every pack calls it),
so the tests see what Mend's wrapper does to any node of any pack, not only to Mend's.
"""

from __future__ import annotations

import time


class ProgressTextProbe:
    CATEGORY = "testing"
    FUNCTION = "run"
    OUTPUT_NODE = True
    RETURN_TYPES = ("STRING",)

    @classmethod
    def INPUT_TYPES(cls) -> dict:
        return {
            "required": {
                "label": ("STRING", {"default": "probe"}),
                "count": ("INT", {"default": 5, "min": 1, "max": 1000}),
                "delay": ("FLOAT", {"default": 0.2, "min": 0.0, "max": 10.0}),
            },
            "hidden": {"unique_id": "UNIQUE_ID"},
        }

    @classmethod
    def IS_CHANGED(cls, **_kwargs) -> float:
        return time.time()  # run every time it is queued

    def run(self, label: str, count: int, delay: float, unique_id: str) -> dict:
        from server import PromptServer

        for i in range(1, count + 1):
            PromptServer.instance.send_progress_text(f"{label} {i}/{count}", unique_id)
            time.sleep(delay)
        return {"ui": {"text": [f"{label} done"]}, "result": (label,)}


NODE_CLASS_MAPPINGS = {"ProgressTextProbe": ProgressTextProbe}
NODE_DISPLAY_NAME_MAPPINGS = {"ProgressTextProbe": "Progress Text Probe (test)"}
