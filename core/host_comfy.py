"""A ``Host`` over the running ComfyUI server: ``folder_paths``, ``nodes``, ``server.PromptServer``.

This is the only module of the engine that touches ComfyUI, and it does so lazily (imports inside
methods), so importing it outside ComfyUI is harmless.

Which input of which node type takes files from which model folder is learned from the live
classes: while Mend calls every class's ``INPUT_TYPES()``, ``folder_paths`` answers calls from that
thread with one sentinel file name per folder (``mend-folder-loras.safetensors``), so each loader
shows exactly which folder it lists, core and custom alike. Other threads see the real lists.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .host import LoadState, canonical_folder
from .installed_packs import InstalledPack, scan_custom_nodes
from .node_schema import NodeSchema, schema_from_input_types, sentinel_name

log = logging.getLogger(__name__)


class ComfyHost:
    exact_node_types = True

    def __init__(self) -> None:
        import folder_paths  # noqa: F401  (fail early, outside ComfyUI this host makes no sense)

        self._schemas: dict[str, NodeSchema] = {}
        self._schema_lock = threading.Lock()
        self._learned_count = -1
        self._failed_core: dict[str, list[str]] | None = None  # core modules do not load again before a restart

    # -- models -----------------------------------------------------------------------------
    def model_folders(self) -> Mapping[str, list[Path]]:
        import folder_paths

        return {
            name: [Path(p) for p in paths]
            for name, (paths, _exts) in folder_paths.folder_names_and_paths.items()
            if name != "custom_nodes"
        }

    def folder_extensions(self, folder: str) -> frozenset[str]:
        import folder_paths

        entry = folder_paths.folder_names_and_paths.get(canonical_folder(folder))
        return frozenset(entry[1]) if entry else frozenset()

    def models_changed(self, folder: str) -> None:
        import folder_paths

        folder_paths.filename_list_cache.pop(canonical_folder(folder), None)

    # -- nodes ------------------------------------------------------------------------------
    def installed_node_types(self) -> set[str]:
        import nodes

        return set(nodes.NODE_CLASS_MAPPINGS)

    def node_schemas(self) -> Mapping[str, NodeSchema]:
        import nodes

        classes = dict(nodes.NODE_CLASS_MAPPINGS)
        with self._schema_lock:
            if self._learned_count != len(classes):
                self._schemas = learn_schemas(classes)
                self._learned_count = len(classes)
            return self._schemas

    def custom_nodes_dirs(self) -> list[Path]:
        import folder_paths

        return [Path(p) for p in folder_paths.get_folder_paths("custom_nodes")]

    def installed_packs(self) -> list[InstalledPack]:
        return [p for d in self.custom_nodes_dirs() for p in scan_custom_nodes(d)]

    def failed_core_modules(self) -> dict[str, list[str]]:
        """ComfyUI's own node modules that failed to import, each with the quoted names it declares (cached).

        ComfyUI imports ``comfy_extras/nodes_*.py`` (and ``comfy_api_nodes``) by path, registering each in
        ``sys.modules`` under that path before running it, and tags every class it loads with
        ``RELATIVE_PYTHON_MODULE``; a module it tried that gave no class failed (ComfyUI logs ``IMPORT
        FAILED``). Reading those few files for their string literals tells which missing type each defines.
        """
        if self._failed_core is None:
            self._failed_core = _failed_core_modules()
        return self._failed_core

    def load_state(self) -> LoadState:
        """Which custom-node folders ComfyUI imported, each node type's module, and ComfyUI's in-memory log."""
        import nodes

        loaded = set(getattr(nodes, "LOADED_MODULE_DIRS", {}))
        modules = {name: str(getattr(cls, "RELATIVE_PYTHON_MODULE", "")) for name, cls in
                   dict(nodes.NODE_CLASS_MAPPINGS).items()}
        try:
            from app.logger import get_logs

            text = "".join(str(e.get("m", "")) for e in list(get_logs() or []))
        except Exception:  # an older ComfyUI without app.logger: the error text is then unknown
            text = ""
        return LoadState(loaded_folders=loaded, node_modules=modules, log_text=text)

    # -- places -----------------------------------------------------------------------------
    def user_dir(self) -> Path:
        import folder_paths

        return Path(folder_paths.get_user_directory())

    def comfyui_dir(self) -> Path | None:
        import folder_paths

        return Path(folder_paths.base_path)

    # -- server -----------------------------------------------------------------------------
    def send_event(self, event: str, data: Mapping[str, Any], client_id: str | None = None) -> None:
        from server import PromptServer

        if PromptServer.instance is not None:
            PromptServer.instance.send_sync(event, dict(data), client_id)

    def listen_addresses(self) -> list[str]:
        try:
            from comfy.cli_args import args
        except ImportError:
            return []
        return [a.strip() for a in str(args.listen or "127.0.0.1").split(",") if a.strip()]


#: ComfyUI's folders of core node modules, imported by file path at startup
CORE_NODE_PACKAGES = ("comfy_extras", "comfy_api_nodes")
_QUOTED = re.compile(r"""["']([A-Za-z0-9_][A-Za-z0-9_ .+\-]{0,99})["']""")


def _failed_core_modules() -> dict[str, list[str]]:
    import nodes

    code = Path(os.path.realpath(nodes.__file__)).parent
    loaded = {str(getattr(cls, "RELATIVE_PYTHON_MODULE", "")) for cls in dict(nodes.NODE_CLASS_MAPPINGS).values()}
    failed: dict[str, list[str]] = {}
    for package in CORE_NODE_PACKAGES:
        for file in sorted((code / package).glob("nodes_*.py")):
            tried = os.path.splitext(str(file))[0] in sys.modules
            if tried and f"{package}.{file.stem}" not in loaded:
                try:
                    text = file.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    text = ""
                failed[f"{package}/{file.name}"] = sorted(set(_QUOTED.findall(text)))
    return failed


def learn_schemas(classes: Mapping[str, Any]) -> dict[str, NodeSchema]:
    """Every class's widget order and model inputs, with ``folder_paths`` tagged for this thread."""
    out: dict[str, NodeSchema] = {}
    with _tagged_folder_lists():
        for node_type, cls in classes.items():
            try:
                info = _input_info(cls)
            except Exception as exc:  # a broken custom node must not break Mend
                log.debug("mend: INPUT_TYPES of %s failed: %s", node_type, exc)
                continue
            if info is None:
                continue
            inputs, order = info
            module = getattr(cls, "RELATIVE_PYTHON_MODULE", None)
            out[node_type] = schema_from_input_types(node_type, inputs, module, order)
    return out


def _input_info(cls: Any) -> tuple[Mapping[str, Any], Mapping[str, list]] | None:
    get_v1 = getattr(cls, "GET_NODE_INFO_V1", None)
    if callable(get_v1):  # comfy_api v3 nodes describe themselves in the v1 shape
        info = get_v1()
        return info.get("input", {}), info.get("input_order", {})
    input_types = getattr(cls, "INPUT_TYPES", None)
    if not callable(input_types):
        return None
    inputs = input_types()
    if not isinstance(inputs, Mapping):
        return None
    return inputs, {k: list(v.keys()) for k, v in inputs.items() if isinstance(v, Mapping)}


@contextmanager
def _tagged_folder_lists() -> Iterator[None]:
    import folder_paths

    me = threading.get_ident()
    patched: dict[str, Callable] = {}

    def wrap(name: str, tagged: Callable[..., Any]) -> None:
        original = getattr(folder_paths, name, None)
        if original is None:
            return
        patched[name] = original

        def call(folder_name: str, *args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() == me:
                return tagged(folder_name)
            return original(folder_name, *args, **kwargs)

        setattr(folder_paths, name, call)

    def names(folder_name: str) -> list[str]:
        return [sentinel_name(canonical_folder(folder_name))]

    # The public function and the internal ones it calls, so loaders that imported
    # get_filename_list by name before Mend loaded are tagged too.
    wrap("get_filename_list", names)
    wrap("cached_filename_list_", lambda f: (names(f), {}, 0.0))
    wrap("get_filename_list_", lambda f: (names(f), {}, 0.0))
    try:
        yield
    finally:
        for name, original in patched.items():
            setattr(folder_paths, name, original)
