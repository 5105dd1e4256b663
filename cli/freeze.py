"""``mend freeze --comfyui DIR [WORKFLOW...] [-o FILE]``: write this ComfyUI down as a manifest (a lock file).

Packs at their exact commit or registry version; the models the workflows use (every model file when
no workflow is given) with size, sha256 and known sources. Without ``-o`` the ComfyUI's own manifest
is updated. Packs and models whose source is unknown are listed (sync will report them; nothing is
guessed). Exit codes: 0 everything pinned with a source another machine can use, 1 something cannot
be reproduced (a pack of unknown source or whose origin is an SSH URL or a local path, a model with no
known source, a workflow naming a file that is not on disk; each is named), 2 bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from tqdm import tqdm

from ..core.environment.freeze import Frozen, freeze, write_frozen
from ..core.environment.sync import load_manifest
from ..core.resolve.target import target_from_cli
from .common import add_comfyui_options, build_mend


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("freeze", help="write the installed packs and the models in use to a manifest (lock file)")
    p.add_argument("workflows", nargs="*", type=Path, metavar="WORKFLOW",
                   help="pin the models these workflows use (default: every file in the model folders)")
    p.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="the manifest to write (default: this ComfyUI's own manifest)")
    p.add_argument("--threads", type=int, default=4, help="files hashed at once (default 4)")
    add_comfyui_options(p)


async def run(args: argparse.Namespace) -> int:
    mend = build_mend(args)
    await mend.catalogs.refresh()  # Manager's model list names sources; never raises offline
    targets = [target_from_cli(mend.host, w) for w in args.workflows] or None
    # a lock file being rewritten keeps the sources people added to it by hand
    also = [await asyncio.to_thread(load_manifest, args.output)] if args.output and args.output.is_file() else []
    bar = tqdm(desc="sha256", unit="file", file=sys.stderr, leave=False, dynamic_ncols=True)
    try:
        frozen = await freeze(mend, targets, threads=args.threads, on_hashed=lambda _f: bar.update(1),
                              also=also)
    finally:
        bar.close()
    out = args.output or mend.manifest_path
    if args.output is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
    target = out if args.output is not None else mend.manifest
    await asyncio.to_thread(write_frozen, frozen, target)
    if args.output is None:
        await asyncio.to_thread(mend.manifest.close)
    print(render(frozen, out))
    return 0 if frozen.reproducible else 1


def render(frozen: Frozen, path: Path) -> str:
    total = sum(m.size for m in frozen.models)
    lines = [f"froze {len(frozen.packs)} packs and {len(frozen.models)} models ({_size(total)}) into {path}"]
    for p in frozen.packs:
        pin = p.commit[:12] if p.commit else (p.version or "?")
        lines.append(f"  pack  {p.id:<32} {p.source:<8} {pin}")
    for m in frozen.models:
        source = m.sources[0] if m.sources else "NO KNOWN SOURCE"
        lines.append(f"  model {m.key:<48} {_size(m.size):>9}  {m.sha256[:12]}  {source}")
    for p in frozen.unavailable_packs:
        lines.append(f"cannot be reproduced elsewhere: pack {p.id}: {p.unavailable} (sync plans it unavailable)")
    if frozen.unknown_packs:
        lines.append("packs with no source Mend can install from (sync will report them): "
                     + ", ".join(p.id for p in frozen.unknown_packs))
    if frozen.unsourced:
        lines.append("models with no known source (add a URL to their sources): "
                     + ", ".join(m.key for m in frozen.unsourced))
    for ref in frozen.missing:
        lines.append(f"not on disk, not pinned: {ref['value']} ({ref.get('folder') or '?'}) in {ref['workflow']}")
    return "\n".join(lines)


def _size(n: float | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
