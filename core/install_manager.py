"""Living beside ComfyUI-Manager: Mend installs packs itself, in the layout Manager expects.

Why not hand installs to Manager's queue: its queue API differs between versions (``/manager/queue/*``
in v3, ``/v2/manager/queue/*`` in v4 with ``--enable-manager``), is gated by its own security level,
reports no per-step failure and does not roll back pip or pin torch. Mend's install keeps its
guarantees (staging + rollback, protected-set constraints, steps and output tails in the task) and
writes the folder Manager would have written: ``custom_nodes/<repo name>`` with ``.git`` (origin =
the repository) for git installs, ``custom_nodes/<registry id>`` with ``pyproject.toml`` and a
``.tracking`` file list for registry installs. Manager therefore lists, updates, disables and
removes packs Mend installed like its own.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

MANAGER_FOLDERS = {"comfyui-manager"}


def manager_present(custom_nodes_dirs: list[Path]) -> bool:
    """ComfyUI-Manager as a custom node (v3) or as the ``comfyui_manager`` package (v4)."""
    for directory in custom_nodes_dirs:
        if directory.is_dir() and any(p.name.lower() in MANAGER_FOLDERS for p in directory.iterdir()):
            return True
    try:
        return importlib.util.find_spec("comfyui_manager") is not None
    except (ImportError, ValueError):
        return False
