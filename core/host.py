"""The one boundary between Mend's engine and ComfyUI: what the engine needs, and nothing more.

Two adapters implement it: ``host_comfy.ComfyHost`` over a running server (``folder_paths``,
``nodes.NODE_CLASS_MAPPINGS``, ``server.PromptServer``) and ``host_standalone.StandaloneHost``
over a ComfyUI directory on disk (for the CLI and for tests). The engine only ever sees a ``Host``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .node_schema import NodeSchema

#: ComfyUI's historic folder names and what they mean today (``folder_paths.map_legacy``).
LEGACY_FOLDERS = {"unet": "diffusion_models", "clip": "text_encoders"}
#: file types ComfyUI lists in model folders (``folder_paths.supported_pt_extensions``)
SUPPORTED_PT_EXTENSIONS = frozenset({".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft"})


def canonical_folder(name: str) -> str:
    return LEGACY_FOLDERS.get(name, name)


@runtime_checkable
class Host(Protocol):
    """What Mend needs from ComfyUI."""

    def model_folders(self) -> Mapping[str, list[Path]]:
        """Model folder name -> its directories, the default (download target) first."""

    def folder_extensions(self, folder: str) -> frozenset[str]:
        """File extensions the folder lists (empty: any)."""

    def installed_node_types(self) -> set[str]:
        """Every node type the server can run now."""

    def node_schemas(self) -> Mapping[str, NodeSchema]:
        """Widget order and model inputs of the installed node types that are known."""

    def custom_nodes_dirs(self) -> list[Path]:
        """Where node packs live, the default (install target) first."""

    def user_dir(self) -> Path:
        """ComfyUI's user directory (the manifest's default home is ``<user>/mend``)."""

    def comfyui_dir(self) -> Path | None:
        """The ComfyUI installation, when known."""

    def models_changed(self, folder: str) -> None:
        """A file appeared or vanished in ``folder``: drop the server's cached file list."""

    def send_event(self, event: str, data: Mapping[str, Any], client_id: str | None = None) -> None:
        """Send a websocket event (to one client, or to all when ``client_id`` is None)."""

    def listen_addresses(self) -> list[str]:
        """The addresses the server listens on (empty for the CLI): drives the remote-risk policy."""


@dataclass
class LoadState:
    """What a started ComfyUI knows: folders it imported, each node type's module, its log text."""

    loaded_folders: set[str] = field(default_factory=set)
    node_modules: Mapping[str, str] = field(default_factory=dict)  # node type -> "custom_nodes.<folder>"
    log_text: str = ""
