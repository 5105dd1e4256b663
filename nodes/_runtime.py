"""What Mend's nodes need from the running server: the mounted ``Mend``, model folders, a file's path.

Nodes run in ComfyUI's prompt worker thread; everything here (Mend's engine modules included) is
imported lazily so importing ``nodes`` stays cheap and works outside ComfyUI (the CLI, the tests,
the Comfy Registry's scanner).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CATEGORY = "Mend"
#: folders that hold no model files
NOT_MODEL_FOLDERS = frozenset({"custom_nodes", "configs"})


def current_mend() -> Any:
    """The ``Mend`` that ``comfy_mount.mount`` put on ``PromptServer.instance``."""
    prompt_server = getattr(sys.modules.get("server"), "PromptServer", None)
    mend = getattr(getattr(prompt_server, "instance", None), "mend", None)
    if mend is None:
        raise RuntimeError("Mend is not mounted on this server (see the log for its import error)")
    return mend


def model_folder_names() -> list[str]:
    """The server's model folders for a combo (``folder_paths.folder_names_and_paths`` keys), read now."""
    try:
        import folder_paths

        names = list(folder_paths.folder_names_and_paths)
    except ImportError:  # outside ComfyUI: its default layout, so INPUT_TYPES still describes the node
        from ..core.host_standalone import DEFAULT_FOLDERS

        names = list(DEFAULT_FOLDERS)
    return sorted(n for n in names if n not in NOT_MODEL_FOLDERS)


def find_model(folders: Mapping[str, list[Path]], folder: str, file_name: str) -> Path | None:
    """The file ``file_name`` in any directory of ``folder`` (first wins, as ``folder_paths.get_full_path``)."""
    from ..core.catalog.source_policy import check_relpath
    from ..core.errors import UnknownFolder

    rel = check_relpath(file_name, "file_name")
    if folder not in folders:
        raise UnknownFolder(f"{folder!r} is not a model folder of this ComfyUI", field="folder")
    for root in folders[folder]:
        candidate = Path(root) / rel
        if candidate.is_file():
            return candidate
    return None


def file_fingerprint(path: Path | None) -> str:
    """What ``IS_CHANGED`` returns: changes exactly when the file appears, vanishes or is rewritten."""
    if path is None:
        return "missing"
    st = path.stat()
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"
