"""Living beside ComfyUI-Manager: Mend installs packs itself, in the layout Manager expects.

Why not hand installs to Manager's queue: its queue API differs between versions (``/manager/queue/*``
in v3, ``/v2/manager/queue/*`` in v4 with ``--enable-manager``), is gated by its own security level,
reports no per-step failure and does not roll back pip or pin torch. Mend's install keeps its
guarantees (staging + rollback, protected-set constraints, steps and output tails in the task) and
writes the folder Manager would have written: ``custom_nodes/<repo name>`` with ``.git`` (origin =
the repository) for git installs, ``custom_nodes/<registry id>`` with ``pyproject.toml`` and a
``.tracking`` file list for registry installs. Manager therefore lists, updates, disables and
removes packs Mend installed like its own, and Mend lists the packs Manager installed or disabled.

Which Manager is *loaded* (``manager: true`` only then; a copy on disk that ComfyUI did not load
does not count):

- ComfyUI 0.8 runs Manager as the pip package ``comfyui-manager`` under ``--enable-manager``:
  ``main.py`` imports ``comfyui_manager`` then, so it is in ``sys.modules``;
- older setups load it as the custom node ``custom_nodes/ComfyUI-Manager``: ComfyUI imports it
  under its folder path, so a module named ``.../ComfyUI-Manager`` is in ``sys.modules``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

MANAGER_FOLDERS = {"comfyui-manager"}


def manager_on_disk(custom_nodes_dirs: list[Path]) -> list[str]:
    """Where a Manager could load from: ``custom_node`` folders and/or the ``pip`` package."""
    found = []
    for directory in custom_nodes_dirs:
        if directory.is_dir() and any(p.name.lower() in MANAGER_FOLDERS for p in directory.iterdir()):
            found.append("custom_node")
            break
    try:
        if importlib.util.find_spec("comfyui_manager") is not None:
            found.append("pip")
    except (ImportError, ValueError):
        pass
    return found


def manager_loaded() -> str | None:
    """``"pip"`` (``--enable-manager``), ``"custom_node"``, or None when no Manager runs in this process."""
    if "comfyui_manager" in sys.modules:
        return "pip"
    for name in list(sys.modules):
        if name.replace("\\", "/").rsplit("/", 1)[-1].lower() in MANAGER_FOLDERS:
            return "custom_node"
    return None


def manager_status(custom_nodes_dirs: list[Path]) -> dict:
    """What ``GET /mend/nodes/installed`` says about Manager: loaded (and how), and what is on disk."""
    loaded = manager_loaded()
    return {"manager": loaded is not None, "manager_loaded": loaded,
            "manager_on_disk": manager_on_disk(custom_nodes_dirs)}
