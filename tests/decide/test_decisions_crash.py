"""A process killed between storing a decision and rewriting the workflow file: the next analysis finishes it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mend.core.decide.decisions import analyze_settled
from mend.core.resolve.target import target_from_request

from ..decisions_support import saved_workflow

DIE_IN_THE_GAP = """
import asyncio, os, signal, sys
from pathlib import Path
from mend.core.decide import decisions
from mend.core.catalog.registry import RegistryClient
from mend.core.catalog.store import CatalogStore
from mend.core.host_standalone import StandaloneHost
from mend.core.resolve.target import analyze_target, target_from_request
from mend.core.services import Mend

comfy, catalog, cache = map(Path, sys.argv[1:4])
mend = Mend.create(StandaloneHost(comfy), catalogs=CatalogStore(catalog_dir=catalog, cache_dir=cache),
                   registry=RegistryClient(""), cache_dir=cache)
target = target_from_request(mend.host, "w.json")
report = asyncio.run(analyze_target(mend, target, use_registry=False))
# SIGKILL at the moment the decision is in the manifest's log and the workflow file is about to be replaced
decisions.replace_atomic = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
decisions.apply_decision(mend, target, report,
                         decisions.Decision.from_json({"model": "3/ckpt_name", "action": "candidate", "candidate": 0}))
"""


def widget(wf_file: Path) -> str:
    return json.loads(wf_file.read_text())["nodes"][2]["widgets_values"][0]


@pytest.fixture
def killed_mid_decision(comfy_dir: Path, small_catalog: Path, tmp_path: Path) -> Path:
    wf_file = saved_workflow(comfy_dir)
    proc = subprocess.run([sys.executable, "-c", DIE_IN_THE_GAP, str(comfy_dir), str(small_catalog),
                           str(tmp_path / "cache")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    assert widget(wf_file) == "sdxl.safetensors"  # the file was not rewritten
    return wf_file


async def test_the_next_analysis_finishes_the_rewrite(killed_mid_decision: Path, comfy_dir, small_catalog,
                                                      mend_for) -> None:
    mend = mend_for(comfy_dir, small_catalog)
    try:
        target = target_from_request(mend.host, "w.json")
        assert mend.manifest.resolutions("w.json")["models"]["3/ckpt_name"]["path"] == "xl/sdxl.safetensors"
        report = await analyze_settled(mend, target, use_registry=False)
        assert widget(killed_mid_decision) == "xl/sdxl.safetensors"
        assert [m.key for m in report.present_models] == ["3/ckpt_name"]
        before = killed_mid_decision.read_bytes()
        await analyze_settled(mend, target, use_registry=False)
        assert killed_mid_decision.read_bytes() == before  # nothing more to finish
    finally:
        mend.manifest.close()


async def test_a_value_the_user_changed_since_is_left_alone(killed_mid_decision: Path, comfy_dir, small_catalog,
                                                            mend_for) -> None:
    data = json.loads(killed_mid_decision.read_text())
    data["nodes"][2]["widgets_values"] = ["mine.safetensors"]
    killed_mid_decision.write_text(json.dumps(data, indent=2) + "\n")
    mend = mend_for(comfy_dir, small_catalog)
    try:
        await analyze_settled(mend, target_from_request(mend.host, "w.json"), use_registry=False)
        assert widget(killed_mid_decision) == "mine.safetensors"
    finally:
        mend.manifest.close()
