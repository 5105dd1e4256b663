"""Figures for analysis (DESIGN.md bars): prints, never asserts.

    python bench/analyze.py [--shared ../shared]

- all 220 template workflows analysed (bar: under 1 s in all)
- a generated 2,000-node workflow with nested subgraphs (bar: under 50 ms)
- cold node-map load of ComfyUI-Manager's 40k-type map (bar: under 300 ms), and warm
- a 50,000-file model tree indexed cold (bar: under 1 s), and an unchanged rescan
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mend.core.catalog.registry import RegistryClient
from mend.core.catalog.store import CatalogStore
from mend.core.host_standalone import StandaloneHost
from mend.core.services import Mend

HERE = Path(__file__).resolve().parent


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def generated_workflow(n_nodes: int = 2000) -> dict:
    """Top graph of 200 nodes + 6 subgraph instances (two levels) holding the rest, with model widgets."""
    loaders = [("CheckpointLoaderSimple", ["ckpt_{}.safetensors"]), ("LoraLoader", ["lora_{}.safetensors", 1.0, 1.0]),
               ("KSampler", [1, "fixed", 20, 7.0, "euler", "normal", 1.0]), ("VAELoader", ["vae_{}.safetensors"]),
               ("SomeCustomNode_{}", ["custom_{}.safetensors", 3])]

    def nodes(count: int, offset: int) -> list[dict]:
        out = []
        for i in range(count):
            t, w = loaders[i % len(loaders)]
            out.append({"id": i + 1, "type": t.format(i % 40), "mode": 0,
                        "widgets_values": [v.format(offset + i) if isinstance(v, str) else v for v in w]})
        return out

    inner = {"id": "sg-inner", "nodes": nodes(150, 10_000), "links": []}
    outer_nodes = [*nodes(150, 20000), {"id": 900, "type": "sg-inner", "mode": 0}]
    outer = {"id": "sg-outer", "nodes": outer_nodes, "links": []}
    top = nodes(200, 0) + [{"id": 1000 + k, "type": "sg-outer", "mode": 0} for k in range(6)]
    wf = {"version": 0.4, "nodes": top, "links": [], "definitions": {"subgraphs": [outer, inner]}}
    return wf


def bench_node_map(catalog: Path) -> None:
    code = (
        "import time,sys; from pathlib import Path; t=time.perf_counter();"
        "from mend.core.catalog.store import CatalogStore;"
        "t1=time.perf_counter(); nm=CatalogStore(catalog_dir=Path(sys.argv[1])).node_map(); t2=time.perf_counter();"
        "print(t2-t1, len(nm))"
    )
    runs = [subprocess.run([sys.executable, "-c", code, str(catalog)], capture_output=True, text=True, check=True)
            for _ in range(5)]
    times = [float(r.stdout.split()[0]) for r in runs]
    types = runs[0].stdout.split()[1]
    print(f"node map cold load ({types} types), median of 5 fresh processes: {ms(statistics.median(times))}  "
          f"(bar < 300 ms)")
    store = CatalogStore(catalog_dir=catalog)
    store.node_map()
    t = time.perf_counter()
    store.node_map()
    print(f"node map warm (cached in memory):                     {ms(time.perf_counter() - t)}")


def bench_templates(mend: Mend, templates: Path) -> None:
    files = [p for p in sorted(templates.glob("*.json")) if not p.name.startswith(("index", "fuse_options"))]
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in files]
    mend.analyzer.analyze_sync(docs[0])  # catalogs and index loaded once, as in a running server
    t = time.perf_counter()
    for d in docs:
        mend.analyzer.analyze_sync(d)
    elapsed = time.perf_counter() - t
    print(f"{len(docs)} template workflows analysed:                     {ms(elapsed)}  (bar < 1000 ms)")


def bench_big_workflow(mend: Mend) -> None:
    wf = generated_workflow()
    report = mend.analyzer.analyze_sync(wf)
    times = []
    for _ in range(7):
        t = time.perf_counter()
        mend.analyzer.analyze_sync(wf)
        times.append(time.perf_counter() - t)
    print(f"{len(report.workflow.nodes)}-node workflow with nested subgraphs, median of 7: "
          f"{ms(statistics.median(times))}  (bar < 50 ms; {len(report.missing_models)} missing models, "
          f"{len(report.missing_nodes)} missing types)")


def bench_index(tmp: Path) -> None:
    root = tmp / "ComfyUI"
    n = 0
    for folder in ("checkpoints", "loras", "vae", "text_encoders", "diffusion_models"):
        for d in range(100):
            sub = root / "models" / folder / f"set{d:03d}"
            sub.mkdir(parents=True)
            for i in range(100):
                (sub / f"m{i:03d}.safetensors").touch()
                n += 1
    host = StandaloneHost(root)
    from mend.core.catalog.model_index import ModelIndex

    folders = host.model_folders()
    index = ModelIndex(folders, {f: host.folder_extensions(f) for f in folders})
    t = time.perf_counter()
    index.scan()
    cold = time.perf_counter() - t
    t = time.perf_counter()
    index.scan()
    warm = time.perf_counter() - t
    print(f"model index of {len(index.files)} files, cold:                   {ms(cold)}  (bar < 1000 ms)")
    print(f"model index rescan, nothing changed:                 {ms(warm)}  ({index.dirs_listed} dirs re-listed)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared")
    args = parser.parse_args()
    catalog, templates = args.shared / "catalog", args.shared / "corpus" / "templates"
    if not catalog.is_dir():
        print(f"{catalog} is absent: the node-map and template figures need ../shared")
        return
    bench_node_map(catalog)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "empty").mkdir()
        mend = Mend.create(StandaloneHost(tmp_path / "empty"), catalogs=CatalogStore(catalog_dir=catalog),
                           registry=RegistryClient(""), cache_dir=tmp_path / "cache")
        bench_templates(mend, templates)
        bench_big_workflow(mend)
        bench_index(tmp_path)


if __name__ == "__main__":
    main()
