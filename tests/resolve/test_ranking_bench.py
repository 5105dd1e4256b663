"""``bench/ranking.py`` from the outside: a real shared-corpus workflow, the real catalogs, a loopback registry."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

from ..conftest import REPO, shared_path
from ..registry_server import RegistryServer

WORKFLOW = "107_pjecuacion__comfyui_workflows__workflows_ltx-2-camera-control-loras_video_ltx2_3_ia2v_working.json"


def one_workflow_corpus(tmp_path: Path, *extra_labels: str) -> Path:
    """A shared folder holding one real user workflow, its real labels (and ``extra_labels`` rows), the real
    catalogs and the object_info of a bare ComfyUI 0.8.0."""
    corpus = shared_path("corpus", "user-workflows")
    shared = tmp_path / "shared"
    (shared / "corpus" / "user-workflows" / "wf").mkdir(parents=True)
    shutil.copy(corpus / "wf" / WORKFLOW, shared / "corpus" / "user-workflows" / "wf" / WORKFLOW)
    lines = (corpus / "labels.tsv").read_text(encoding="utf-8").splitlines()
    mine = [line for line in lines[1:] if line.startswith(WORKFLOW + "\t")]
    (shared / "corpus" / "user-workflows" / "labels.tsv").write_text("\n".join([lines[0], *mine, *extra_labels]) + "\n")
    (shared / "catalog").symlink_to(shared_path("catalog"))
    info = "object_info-comfyui-0.8.0.json"
    (shared / "corpus" / info).symlink_to(shared_path("corpus", info))
    return shared


async def run_bench(shared: Path, *extra: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(REPO / "bench" / "ranking.py"), "--shared", str(shared), "--collections",
        str(shared / "none.tsv"), "--examples", str(shared / "none"), *extra,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


def strict_line(out: str) -> str:
    return next(line for line in out.splitlines() if "top-1 strict" in line)


async def test_the_registry_look_up_is_off_unless_asked_and_said_when_used(tmp_path, aiohttp_server):
    """``CacheDiT_LTX2_Optimizer`` is in no catalog; the registry (ids its own, not Manager's) places it."""
    shared = one_workflow_corpus(tmp_path)
    registry = RegistryServer()
    registry.publish("comfyui-cachedit", "1.0.0", node_types=("CacheDiT_LTX2_Optimizer",),
                     repository="https://github.com/Jasonzzt/ComfyUI-CacheDiT")
    server = await aiohttp_server(registry.app())
    offline = await run_bench(shared)
    assert "registry look-up: not used" in offline
    assert registry.requests == []
    online = await run_bench(shared, "--registry", str(server.make_url("")).rstrip("/"))
    assert "registry look-up: used" in online
    assert "/comfy-nodes/CacheDiT_LTX2_Optimizer/node" in registry.requests
    assert not any(p.endswith("/install") for p in registry.requests)
    assert "CacheDiT_LTX2_Optimizer" in offline.split("misses, stamps stripped")[1].split("stamps kept")[0]
    assert "CacheDiT_LTX2_Optimizer" not in online.split("misses, stamps stripped")[1].split("stamps kept")[0]
    assert strict_line(offline) != strict_line(online)


async def test_rows_whose_type_is_not_missing_stay_counted_and_are_said(tmp_path):
    """A stamp can name a pack for a type the bare ComfyUI has (``PrimitiveInt`` labelled cg-use-everywhere in a
    held-out collection): such a row stays in the denominator, and a second figure sets it aside, saying so."""
    shared = one_workflow_corpus(tmp_path, f"{WORKFLOW}\tPrimitiveInt\tchrisgoringe/cg-use-everywhere\t\t\tstamp")
    out = await run_bench(shared)
    rows = int(next(line for line in out.splitlines() if line.startswith("== shared")).split(", ")[1].split()[0])
    strict = strict_line(out)
    assert f"/{rows})" in strict  # every row in the headline's denominator
    aside = next(line for line in out.splitlines() if "rows actually missing" in line)
    assert f"/{rows - 1})" in aside and "1 rows set aside, their type is in the bare ComfyUI" in aside
