"""How many analyses offer ComfyUI itself as a node pack, on a ComfyUI that lacks some of its core nodes.

A ComfyUI whose core modules failed to import (``nodes_audio.py`` without torchaudio) lacks core types
such as ``LoadAudio``; ComfyUI-Manager's map lists those under ComfyUI's own repository. Offering that
as a pack means cloning ComfyUI into ``custom_nodes``. The server's host is played here by a ComfyUI
0.8.0 whose node list is a saved ``object_info`` of such a ComfyUI (545 types, no audio nodes), so
the analysis sees exactly what the server sees. Prints figures, never asserts.

    python bench/core_as_pack.py [--shared ../shared] [--eval /work/eval/wf]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path

from mend.core.catalog.registry import RegistryClient
from mend.core.catalog.store import CatalogStore
from mend.core.errors import MendError
from mend.core.host_standalone import StandaloneHost
from mend.core.resolve.analyze import Analyzer

HERE = Path(__file__).resolve().parent
CORE = ("https://github.com/comfyanonymous/comfyui", "https://github.com/comfy-org/comfyui")


def workflow_files(shared: Path, extra: list[Path]) -> dict[str, list[Path]]:
    corpus = shared / "corpus"
    sets = {"templates": sorted((corpus / "templates").glob("*.json")),
            "user workflows": sorted((corpus / "user-workflows" / "wf").glob("*.json"))}
    for folder in extra:
        if folder.is_dir():
            sets[str(folder)] = sorted(folder.glob("*.json"))
    return {k: [p for p in v if not p.name.startswith(("index", "fuse_options"))] for k, v in sets.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared")
    parser.add_argument("--eval", type=Path, action="append", default=[Path("/work/eval/wf")])
    args = parser.parse_args()
    object_info = json.loads((args.shared / "corpus" / "object_info-comfyui-0.8.0.json").read_text(encoding="utf-8"))
    comfy = Path(tempfile.mkdtemp(prefix="mend-core-as-pack-")) / "ComfyUI"
    for sub in ("models", "custom_nodes", "user"):
        (comfy / sub).mkdir(parents=True)
    (comfy / "comfyui_version.py").write_text('__version__ = "0.8.0"\n', encoding="utf-8")
    host = StandaloneHost(comfy, object_info=object_info)
    catalogs = CatalogStore(catalog_dir=args.shared / "catalog", cache_dir=comfy / "cache", offline=True,
                            registry=RegistryClient(""))
    analyzer = Analyzer(host, catalogs)
    print(f"host: ComfyUI 0.8.0 with {len(object_info)} node types (no audio core nodes); catalogs {args.shared}")
    print(f"{'set':<16} {'workflows':>9} {'offer ComfyUI':>13} {'rows':>5} {'certain':>7} "
          f"{'core rows said':>14}  reasons")
    for name, files in workflow_files(args.shared, args.eval).items():
        offered = rows = certain = said = refused = 0
        reasons: Counter = Counter()
        for path in files:
            try:
                report = analyzer.analyze_sync(json.loads(path.read_text(encoding="utf-8"))).to_json()
            except (MendError, ValueError):
                refused += 1
                continue
            hit = False
            for node in report["missing_nodes"]:
                core_candidates = [c for c in node["candidates"] if c["pack"]["repository"].lower() in CORE]
                if core_candidates:
                    hit, rows = True, rows + 1
                    certain += bool(node["auto"] and node["candidates"][0] in core_candidates)
                if node.get("core") and not node["candidates"]:
                    said += 1
                    reasons[(node.get("note") or "").split(": ", 1)[-1].split(" (")[0][:40]] += 1
            offered += hit
        label = name if len(name) <= 16 else "…" + name[-15:]
        print(f"{label:<16} {len(files):>9} {offered:>13} {rows:>5} {certain:>7} {said:>14}  "
              + "; ".join(f"{n}× {r}" for r, n in reasons.most_common(4))
              + (f"  ({refused} refused)" if refused else ""))


if __name__ == "__main__":
    main()
