"""Mend: make any ComfyUI workflow runnable (missing node packs and model files, found and fetched).

ComfyUI imports this package from ``custom_nodes/<any folder name>``; it then mounts Mend's routes
and hooks on ``PromptServer.instance``. Imported anywhere else (the CLI, the tests) it does nothing
but define the node mappings, so it is always safe to import.
"""

from __future__ import annotations

import sys

if __package__:
    from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS
else:  # imported as a bare file (pytest sets up the checkout's folder as a package of no name): no nodes
    NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS = {}, {}

WEB_DIRECTORY = "./web/js"

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]


def _prompt_server():
    server = sys.modules.get("server")
    prompt_server = getattr(server, "PromptServer", None)
    return getattr(prompt_server, "instance", None)


if __package__ and _prompt_server() is not None and "folder_paths" in sys.modules:
    from .server_routes.comfy_mount import mount

    mount(_prompt_server())
