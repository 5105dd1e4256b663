"""Loaders whose pack downloads the weights itself on first use: their files are not the user's to find.

The rule (``data/pack_fetched_loaders.json``): every node type named ``DownloadAndLoad…`` (Kijai's
convention: SAM2, Florence2, GIMM-VFI, Depth Anything …), every comfyui_controlnet_aux preprocessor
(``…Preprocessor``: DWPreprocessor's ``yolox_l.onnx``, ``DepthAnythingV2Preprocessor``'s checkpoint),
ComfyUI-Frame-Interpolation's ``… VFI`` nodes (``rife49.pth``), and the loaders listed by name. It
applies only where no schema names the input's folder: a loader that lists a model folder of
ComfyUI's reads files the user provides, whatever its name.

    >>> fetches_own_weights("DownloadAndLoadSAM2Model"), fetches_own_weights("RIFE VFI")
    (True, True)
    >>> fetches_own_weights("DWPreprocessor"), fetches_own_weights("LoraLoader")
    (True, False)
"""

from __future__ import annotations

import json
import re
from functools import cache, lru_cache
from pathlib import Path

RULES = Path(__file__).resolve().parents[1] / "data" / "pack_fetched_loaders.json"


@cache
def _rules() -> tuple[frozenset[str], re.Pattern]:
    data = json.loads(RULES.read_text(encoding="utf-8"))
    return frozenset(data["loaders"]), re.compile("|".join(f"(?:{p})" for p in data["patterns"]))


@lru_cache(maxsize=4096)
def fetches_own_weights(node_type: str) -> bool:
    names, pattern = _rules()
    return node_type in names or bool(pattern.search(node_type))
