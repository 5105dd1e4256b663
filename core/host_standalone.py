"""A ``Host`` over a ComfyUI directory on disk, for the CLI and the tests (no server running).

Model folders follow ComfyUI's default ``models/`` layout plus every ``extra_model_paths.yaml``
(``base_path``, ``is_default``, multi-line folder lists, legacy names). Node schemas come from a
saved ``object_info`` when given, else from the core schemas recorded from ComfyUI itself.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .host import SUPPORTED_PT_EXTENSIONS, canonical_folder
from .installed_packs import InstalledPack, scan_custom_nodes
from .node_schema import NodeSchema, schemas_from_object_info

log = logging.getLogger(__name__)

CORE_SCHEMAS = Path(__file__).resolve().parent / "data" / "core_node_schemas.json"

#: ComfyUI's default model layout (``folder_paths.folder_names_and_paths``): folder -> subdirs, extensions
DEFAULT_FOLDERS: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "checkpoints": (("checkpoints",), SUPPORTED_PT_EXTENSIONS),
    "configs": (("configs",), frozenset({".yaml"})),
    "loras": (("loras",), SUPPORTED_PT_EXTENSIONS),
    "vae": (("vae",), SUPPORTED_PT_EXTENSIONS),
    "text_encoders": (("text_encoders", "clip"), SUPPORTED_PT_EXTENSIONS),
    "diffusion_models": (("unet", "diffusion_models"), SUPPORTED_PT_EXTENSIONS),
    "clip_vision": (("clip_vision",), SUPPORTED_PT_EXTENSIONS),
    "style_models": (("style_models",), SUPPORTED_PT_EXTENSIONS),
    "embeddings": (("embeddings",), SUPPORTED_PT_EXTENSIONS),
    "diffusers": (("diffusers",), frozenset()),
    "vae_approx": (("vae_approx",), SUPPORTED_PT_EXTENSIONS),
    "controlnet": (("controlnet", "t2i_adapter"), SUPPORTED_PT_EXTENSIONS),
    "gligen": (("gligen",), SUPPORTED_PT_EXTENSIONS),
    "upscale_models": (("upscale_models",), SUPPORTED_PT_EXTENSIONS),
    "latent_upscale_models": (("latent_upscale_models",), SUPPORTED_PT_EXTENSIONS),
    "hypernetworks": (("hypernetworks",), SUPPORTED_PT_EXTENSIONS),
    "photomaker": (("photomaker",), SUPPORTED_PT_EXTENSIONS),
    "classifiers": (("classifiers",), frozenset()),
    "model_patches": (("model_patches",), SUPPORTED_PT_EXTENSIONS),
    "audio_encoders": (("audio_encoders",), SUPPORTED_PT_EXTENSIONS),
}


def load_core_schemas() -> dict[str, NodeSchema]:
    data = json.loads(CORE_SCHEMAS.read_text(encoding="utf-8"))["schemas"]
    return {t: NodeSchema.from_json(t, v) for t, v in data.items()}


class StandaloneHost:
    """ComfyUI as it lies on disk: folders, packs and recorded schemas; events go to a callback."""

    def __init__(
        self,
        comfyui_dir: Path,
        *,
        extra_model_paths: list[Path] | None = None,
        object_info: Mapping[str, Any] | None = None,
        user_dir: Path | None = None,
        on_event: Any = None,
    ) -> None:
        self._root = Path(comfyui_dir).resolve()
        self._user_dir = user_dir
        self._on_event = on_event
        self._folders: dict[str, list[Path]] = {
            name: [self._root / "models" / sub for sub in subs] for name, (subs, _) in DEFAULT_FOLDERS.items()
        }
        self._extensions = {name: exts for name, (_, exts) in DEFAULT_FOLDERS.items()}
        self._custom_nodes = [self._root / "custom_nodes"]
        if extra_model_paths is None:
            default_yaml = self._root / "extra_model_paths.yaml"
            extra_model_paths = [default_yaml] if default_yaml.is_file() else []
        for path in extra_model_paths:
            self._load_extra_paths(Path(path))
        self._schemas = schemas_from_object_info(object_info) if object_info else load_core_schemas()
        # Without a saved object_info the custom packs' types are unknown here: the analyzer adds
        # the node map's core types and the installed packs' types instead.
        self.exact_node_types = object_info is not None

    # -- Host -------------------------------------------------------------------------------
    def model_folders(self) -> Mapping[str, list[Path]]:
        return self._folders

    def folder_extensions(self, folder: str) -> frozenset[str]:
        return self._extensions.get(folder, SUPPORTED_PT_EXTENSIONS)

    def installed_node_types(self) -> set[str]:
        return set(self._schemas)

    def node_schemas(self) -> Mapping[str, NodeSchema]:
        return self._schemas

    def custom_nodes_dirs(self) -> list[Path]:
        return self._custom_nodes

    def installed_packs(self) -> list[InstalledPack]:
        return [p for d in self._custom_nodes for p in scan_custom_nodes(d)]

    def user_dir(self) -> Path:
        return self._user_dir or self._root / "user"

    def comfyui_dir(self) -> Path | None:
        return self._root

    def models_changed(self, folder: str) -> None:
        """Nothing is cached by a server here: the next scan sees the file."""

    def send_event(self, event: str, data: Mapping[str, Any], client_id: str | None = None) -> None:
        if self._on_event is not None:
            self._on_event(event, dict(data), client_id)

    def listen_addresses(self) -> list[str]:
        return []

    # -- extra_model_paths.yaml -------------------------------------------------------------
    def _load_extra_paths(self, yaml_path: Path) -> None:
        """Same semantics as ComfyUI's ``utils.extra_config.load_extra_path_config``."""
        try:
            config = yaml.safe_load(yaml_path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            log.warning("mend: cannot read %s: %s", yaml_path, exc)
            return
        if not isinstance(config, dict):
            return
        for section in config.values():
            if not isinstance(section, dict):
                continue
            base = section.get("base_path")
            base_path = Path(str(base)).expanduser() if base else None
            if base_path is not None and not base_path.is_absolute():
                base_path = yaml_path.parent / base_path
            is_default = bool(section.get("is_default", False))
            for key, value in section.items():
                if key in ("base_path", "is_default") or value is None:
                    continue
                for line in str(value).split("\n"):
                    line = line.strip()
                    if not line:
                        continue
                    full = Path(line).expanduser()
                    if base_path is not None and not full.is_absolute():
                        full = base_path / full
                    elif not full.is_absolute():
                        full = yaml_path.parent / full
                    self._add_folder_path(key, Path(_normpath(full)), is_default)

    def _add_folder_path(self, key: str, path: Path, is_default: bool) -> None:
        if key == "custom_nodes":
            target = self._custom_nodes
        else:
            folder = canonical_folder(key)
            target = self._folders.setdefault(folder, [])
        if path in target:
            if is_default:
                target.remove(path)
                target.insert(0, path)
            return
        if is_default:
            target.insert(0, path)
        else:
            target.append(path)


def _normpath(path: Path) -> str:
    return os.path.normpath(os.path.abspath(path))
