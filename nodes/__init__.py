"""The ComfyUI nodes Mend adds (category ``Mend``): *Ensure Model* and *Model Info*.

Importing this package is cheap and safe anywhere: no torch, no safetensors, no ComfyUI module is
imported until a node runs (folder combos are read inside ``INPUT_TYPES``).
"""

from __future__ import annotations

from .ensure_model import MendEnsureModel
from .model_info import MendModelInfo

NODE_CLASS_MAPPINGS: dict[str, type] = {
    "MendEnsureModel": MendEnsureModel,
    "MendModelInfo": MendModelInfo,
}
NODE_DISPLAY_NAME_MAPPINGS: dict[str, str] = {
    "MendEnsureModel": "Ensure Model (Mend)",
    "MendModelInfo": "Model Info (Mend)",
}
