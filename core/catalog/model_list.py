"""ComfyUI-Manager's ``model-list.json``: known model files with their folder and download URL."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: Manager's ``type`` values whose ``save_path`` is "default", mapped to ComfyUI folders
TYPE_FOLDERS = {
    "checkpoint": "checkpoints", "checkpoints": "checkpoints", "lora": "loras", "loras": "loras",
    "vae": "vae", "vae_approx": "vae_approx", "taesd": "vae_approx", "clip": "text_encoders",
    "text_encoders": "text_encoders", "unet": "diffusion_models", "diffusion_model": "diffusion_models",
    "controlnet": "controlnet", "t2i-adapter": "controlnet", "clip_vision": "clip_vision",
    "upscale": "upscale_models", "embeddings": "embeddings", "gligen": "gligen",
    "style_model": "style_models", "photomaker": "photomaker", "hypernetwork": "hypernetworks",
}


@dataclass(frozen=True)
class KnownModel:
    name: str
    filename: str
    url: str
    folder: str | None  # ComfyUI model folder, or None for paths outside models/
    save_path: str
    size: str | None = None
    base: str | None = None
    sha256: str | None = None

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def _folder(save_path: str, model_type: str) -> str | None:
    if save_path in ("", "default"):
        return TYPE_FOLDERS.get(model_type.lower())
    head = save_path.replace("\\", "/").strip("/").split("/", 1)[0]
    return {"clip": "text_encoders", "unet": "diffusion_models"}.get(head, head)


class ModelList:
    """Known models by lower-case file name."""

    def __init__(self, models: Iterable[Mapping[str, Any]] = ()) -> None:
        self._by_name: dict[str, list[KnownModel]] = {}
        self._count = 0
        for m in models:
            filename, url = m.get("filename"), m.get("url")
            if not isinstance(filename, str) or not isinstance(url, str):
                continue
            save_path = str(m.get("save_path") or "default")
            known = KnownModel(
                name=str(m.get("name") or filename),
                filename=filename,
                url=url,
                folder=_folder(save_path, str(m.get("type") or "")),
                save_path=save_path,
                size=m.get("size"),
                base=m.get("base"),
                sha256=m.get("sha256") if isinstance(m.get("sha256"), str) else None,
            )
            self._by_name.setdefault(filename.lower(), []).append(known)
            self._count += 1

    def find(self, filename: str) -> list[KnownModel]:
        return self._by_name.get(filename.replace("\\", "/").rsplit("/", 1)[-1].lower(), [])

    def __len__(self) -> int:
        return self._count
