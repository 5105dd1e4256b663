"""A model file's folder from its node when no schema says it: the pack loader table, then names.

Order of evidence (strongest first), for a node type the host cannot describe:

1. ``data/pack_loader_folders.json``: well-known pack loaders, read from each pack's source
   (``UltralyticsDetectorProvider`` -> ``ultralytics``, ``SAMLoader`` -> ``sams``); ``loader_table``.
2. The input's name (``lora_name`` -> ``loras``, ``ckpt_name`` -> ``checkpoints``, ``vae_name`` -> ``vae``,
   ``clip_name`` -> ``text_encoders``, ``unet_name`` -> ``diffusion_models``), then the node type's words
   (``…Lora…`` -> ``loras``, ``…Checkpoint…`` -> ``checkpoints``); ``node_hint``, a guess, said as one.

The file name alone (``folder_guess``) comes after these; Manager's model list, which names files
with their ``save_path``, is consulted by the resolve stage between the two.

    >>> folder_from_node("WanVideoLoraSelect", None)
    ('loras', 'loader_table')
    >>> folder_from_node("Some LoRA Stack", "lora_name_1")
    ('loras', 'node_hint')
    >>> folder_from_node("Checkpoint Loader (Some Pack)", None)
    ('checkpoints', 'node_hint')
    >>> folder_from_node("SomeNode", None)
    (None, 'unknown')
"""

from __future__ import annotations

import json
import re
from functools import cache, lru_cache
from pathlib import Path

PACK_LOADERS = Path(__file__).resolve().parents[1] / "data" / "pack_loader_folders.json"

#: input name -> folder; ordered, first match wins (``clip_vision`` before ``clip``)
INPUT_RULES: tuple[tuple[str, str], ...] = (
    (r"lora", "loras"),
    (r"ckpt|checkpoint", "checkpoints"),
    (r"clip_?vision", "clip_vision"),
    (r"control_?net", "controlnet"),
    (r"^vae|_vae", "vae"),
    (r"^clip(_name)?\d?$|text_?encoder|^t5", "text_encoders"),
    (r"unet|^dit|diffusion", "diffusion_models"),
    (r"upscale", "upscale_models"),
    (r"style_model", "style_models"),
    (r"embedding", "embeddings"),
    (r"ipadapter", "ipadapter"),
    (r"audio_?encoder", "audio_encoders"),
)
#: node type words -> folder; ordered, first match wins (``CLIPVision`` before ``CLIP``, ``VAE`` before ``GGUF``)
TYPE_RULES: tuple[tuple[str, str], ...] = (
    (r"lora", "loras"),
    (r"clip ?vision", "clip_vision"),
    (r"control ?net", "controlnet"),
    (r"animatediff", "animatediff_models"),
    (r"ipadapter", "ipadapter"),
    (r"checkpoint|ckpt", "checkpoints"),
    (r"vae", "vae"),
    (r"clip|text ?encod|t5", "text_encoders"),
    (r"upscale ?model|upscaler? ?loader", "upscale_models"),
    (r"unet|diffusion ?model|dit ?loader|gguf", "diffusion_models"),
    (r"style ?model", "style_models"),
)
_INPUT = tuple((re.compile(p, re.IGNORECASE), f) for p, f in INPUT_RULES)
_TYPE = tuple((re.compile(p, re.IGNORECASE), f) for p, f in TYPE_RULES)


@cache
def pack_loader_folders() -> dict[str, str]:
    """``data/pack_loader_folders.json``: node type -> folder."""
    return dict(json.loads(PACK_LOADERS.read_text(encoding="utf-8"))["loaders"])


@lru_cache(maxsize=4096)
def folder_from_node(node_type: str, input_name: str | None) -> tuple[str | None, str]:
    """(folder, source) from the node alone: ``loader_table``, ``node_hint``, or ``(None, "unknown")``."""
    known = pack_loader_folders().get(node_type)
    if known:
        return known, "loader_table"
    for rules, text in ((_INPUT, input_name), (_TYPE, node_type)):
        if text:
            for pattern, folder in rules:
                if pattern.search(text):
                    return folder, "node_hint"
    return None, "unknown"
