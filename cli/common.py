"""Options every command shares (where ComfyUI is, where the catalogs are) and building a ``Mend``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..core import constants
from ..core.catalog.registry import RegistryClient
from ..core.catalog.store import CatalogStore, manager_dirs
from ..core.errors import BadRequest, InvalidJSON, LfsPointer, MendError, NotAWorkflowFile
from ..core.host_standalone import StandaloneHost
from ..core.services import Mend
from ..core.workflow.embedded import extract_workflow, is_media
from ..core.workflow.lfs_pointer import lfs_pointer_message


def add_comfyui_options(parser: argparse.ArgumentParser, *, comfyui_required: bool = True) -> None:
    """The shared options; ``-v`` is accepted here too, so it works before or after the subcommand."""
    if comfyui_required:
        parser.add_argument("--comfyui", required=True, type=Path, metavar="DIR", help="the ComfyUI directory")
    else:
        parser.add_argument("--comfyui", type=Path, metavar="DIR",
                            help="the ComfyUI directory (default: an empty layout under Mend's cache, "
                                 "where nothing is installed)")
    add_verbose(parser)
    parser.add_argument("--extra-model-paths", type=Path, action="append", metavar="YAML",
                        help="extra_model_paths.yaml to read (default: the one in DIR, if any)")
    parser.add_argument("--object-info", type=Path, metavar="FILE",
                        help="a saved GET /object_info of this ComfyUI (node schemas of its custom nodes)")
    parser.add_argument("--catalog-dir", type=Path, metavar="DIR",
                        help="read ComfyUI-Manager's catalog files from DIR instead of the cache/network "
                        "(its dev and legacy channels, optional, under DIR/node_db/<channel>/)")
    parser.add_argument("--manifest", type=Path, metavar="FILE",
                        help="the manifest (default: $MEND_MANIFEST or <user dir>/mend/pyproject.toml)")
    parser.add_argument("--no-registry", action="store_true", help="do not ask the Comfy Registry")


def read_json_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadRequest(f"cannot read {path}: {exc.strerror}", field=str(path)) from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidJSON(f"{path} is not valid JSON: {exc}", field=str(path)) from exc


def read_workflow_file(path: Path) -> Any:
    """A workflow from a JSON file, or embedded in an image, audio or video file ComfyUI saved."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise BadRequest(f"cannot read {path}: {exc.strerror}", field=str(path)) from exc
    pointer = lfs_pointer_message(raw, str(path))
    if pointer:
        raise LfsPointer(pointer, field=str(path))
    if is_media(raw[:16]):
        try:
            return extract_workflow(raw)[0]
        except MendError as exc:
            raise type(exc)(f"{path}: {exc.message}", field=str(path)) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotAWorkflowFile(f"{path} is neither JSON nor a file ComfyUI embeds a workflow in "
                               "(PNG, WEBP, FLAC, MP3, Opus, MP4, WEBM)", field=str(path)) from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidJSON(f"{path} is not valid JSON: {exc}", field=str(path)) from exc


def add_verbose(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a subcommand's parser must not reset a -v given before the subcommand
    parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log what Mend does")


def comfyui_dir(args: argparse.Namespace) -> Path:
    """``--comfyui``, checked; without it, an empty layout under Mend's cache (said on stderr)."""
    comfyui: Path | None = args.comfyui
    if comfyui is None:
        comfyui = empty_layout(constants.CACHE_DIR / "comfyui")
        print(f"mend: no --comfyui given: checking against an empty ComfyUI layout at {comfyui} "
              "(no custom nodes, no models)", file=sys.stderr)
        return comfyui
    if not comfyui.is_dir():
        raise BadRequest(f"{comfyui} is not a directory", field="--comfyui")
    if not (comfyui / "models").is_dir():
        print(f"mend: warning: {comfyui} has no models/ folder: is it a ComfyUI directory? "
              "Only extra_model_paths.yaml folders are searched", file=sys.stderr)
    return comfyui


def empty_layout(root: Path) -> Path:
    """A ComfyUI-shaped folder with nothing in it: what a workflow needs on a machine with nothing."""
    for sub in ("models", "custom_nodes", "user"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return root


def build_mend(args: argparse.Namespace) -> Mend:
    comfyui = args.comfyui = comfyui_dir(args)
    if args.catalog_dir is not None and not args.catalog_dir.is_dir():
        raise BadRequest(f"--catalog-dir {args.catalog_dir} is not a directory", field="--catalog-dir")
    object_info = read_json_file(args.object_info) if args.object_info else None
    host = StandaloneHost(comfyui, extra_model_paths=args.extra_model_paths, object_info=object_info)
    registry = RegistryClient("" if args.no_registry else None)
    catalogs = CatalogStore(catalog_dir=args.catalog_dir,
                            manager_dirs=manager_dirs(host.custom_nodes_dirs(), host.user_dir()), registry=registry)
    return Mend.create(host, catalogs=catalogs, registry=registry, manifest_path=args.manifest)
