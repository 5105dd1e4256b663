"""Last-resort guess of a model file's folder from its name, for loaders nobody can describe.

Used only when neither the node's schema nor the workflow's metadata nor a catalog names the
folder (a missing custom loader, say). A guess is reported as such (``folder_source="guess"``)
and never auto-accepted.

    >>> guess_folder("Wan21_T2V_14B_lightx2v_lora_rank32.safetensors")
    'loras'
    >>> guess_folder("notes.txt") is None
    True
"""

from __future__ import annotations

import re
from functools import lru_cache

# Ordered: the first pattern that matches wins, so specific words come before broad ones.
_RULES: tuple[tuple[str, str], ...] = (
    (r"\.(ya?ml)$", "configs"),
    (r"lora|lycoris|locon", "loras"),
    (r"clip[_-]?vision|clip-vit|sigclip|siglip", "clip_vision"),
    (r"whisper|wav2vec|hubert|audio[_-]?enc", "audio_encoders"),
    (r"control[_-]?net|controlnet|t2i[_-]?adapter|union", "controlnet"),
    (r"esrgan|upscal|swinir|[_-]x[248][_.-]|4x|2x", "upscale_models"),
    (r"taesd|taef1|taesdxl", "vae_approx"),
    (r"(^|[_.-])vae([_.-]|$)|_vae|vae_", "vae"),
    (r"t5|umt5|clip_[lg]\b|clip_[lg][_.]|text[_-]?enc|gemma|llama|mistral|byt5|llava", "text_encoders"),
    (r"qwen.*(vl|[0-9]b)", "text_encoders"),
    (r"embedding|textual[_-]?inv", "embeddings"),
    (r"\.gguf$|unet|dit|[it]2v|[0-9]+b[_.-]|transformer|flux|wan2|hunyuan", "diffusion_models"),
    (r"sd_?xl|sd15|sd_1|v1-5|checkpoint|ckpt|pruned", "checkpoints"),
)
_COMPILED = tuple((re.compile(p, re.IGNORECASE), folder) for p, folder in _RULES)


@lru_cache(maxsize=8192)  # the same workflow is analysed again after every decision
def guess_folder(file_name: str) -> str | None:
    name = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    for pattern, folder in _COMPILED:
        if pattern.search(name):
            return folder
    return None
