"""What ``mend check`` shows for a pack is what ``mend resolve --yes`` installs, from the installed ``mend`` in a
venv with only Mend's declared dependencies, against the loopback Comfy Registry stand-in:

- a pack the workflow names by a registry id the catalogs do not confirm (``stamp_name``, the walk's rgthree
  case) installs from the registry at the stamped version, not from git at its default branch;
- two node types of one pack stamped at two versions: one plan on both rows (the newest), one install.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import tomlkit

from ..git_server import node_pack_files
from ..install_support import registry  # noqa: F401 (fixture)

REPO = "https://github.com/rgthree/rgthree-comfy"
SEED, POWER = "Seed (rgthree)", "Power Lora Loader (rgthree)"
OLD, NEW = "1.0.2512112053", "1.0.2604070017"


def rgthree_catalog(d: Path) -> Path:
    """Manager's files knowing rgthree under Manager's id only: the registry id comes from the workflow."""
    d.mkdir(parents=True)
    (d / "extension-node-map.json").write_text(json.dumps({REPO: [[SEED, POWER], {"title_aux": "rgthree"}]}))
    (d / "custom-node-list.json").write_text(json.dumps({"custom_nodes": [
        {"author": "rgthree", "title": "rgthree's ComfyUI Nodes", "id": "rgthree-comfy", "reference": REPO,
         "files": [REPO], "install_type": "git-clone"}]}))
    (d / "github-stats.json").write_text(json.dumps({REPO: {"stars": 2000}}))
    (d / "model-list.json").write_text(json.dumps({"models": []}))
    (d / "registry-nodes.json").write_text(json.dumps({"nodes": []}))  # the registry's list did not have it yet
    return d


def workflow(path: Path, *nodes: tuple[str, str]) -> Path:
    path.write_text(json.dumps({"version": 0.4, "links": [], "nodes": [
        {"id": i, "type": t, "mode": 0, "properties": {"cnr_id": "rgthree-comfy", "ver": v}, "widgets_values": []}
        for i, (t, v) in enumerate(nodes, 1)]}))
    return path


async def mend(fresh: dict, registry_url: str, *argv: str) -> tuple[int, str, str]:
    env = {**fresh["env"], "MEND_REGISTRY_URL": registry_url, "MEND_TEST_ALLOW_HTTP_LOOPBACK": "1"}
    proc = await asyncio.create_subprocess_exec(str(fresh["clone"] / ".venv" / "bin" / "mend"), *argv, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 300)
    return proc.returncode, out.decode(), err.decode()


def publish_rgthree(registry) -> None:
    for version in (OLD, NEW):
        registry.publish("rgthree-comfy", version, node_pack_files("RgthreeSeed"))


def manifest_of(comfy_dir: Path) -> dict:
    return tomlkit.parse((comfy_dir / "user" / "mend" / "pyproject.toml").read_text()).unwrap()["tool"]["mend"]


async def test_the_stamped_version_check_shows_is_the_one_resolve_installs(fresh, registry, comfy_dir, tmp_path):
    publish_rgthree(registry)
    catalog = rgthree_catalog(tmp_path / "catalog")
    wf = workflow(tmp_path / "seed.json", (SEED, OLD))
    common = ("--comfyui", str(comfy_dir), "--catalog-dir", str(catalog))

    code, out, err = await mend(fresh, registry.base_url, "check", str(wf), "--json", *common)
    top = json.loads(out)["missing_nodes"][0]["candidates"][0]
    assert top["reason"] == "stamp_name" and top["install"]["label"] == f"Comfy Registry: rgthree-comfy {OLD}", err

    code, out, err = await mend(fresh, registry.base_url, "resolve", str(wf), "--yes", *common)
    assert code == 0, out + err
    assert f"install_pack: Comfy Registry: rgthree-comfy {OLD}" in out and "Traceback" not in err
    assert f"/files/rgthree-comfy/{OLD}.zip" in registry.requests and registry.install_calls == 0
    assert (comfy_dir / "custom_nodes" / "rgthree-comfy" / ".tracking").is_file()
    state = manifest_of(comfy_dir)
    assert state["packs"]["rgthree-comfy"]["source"] == "registry"
    assert state["packs"]["rgthree-comfy"]["version"] == OLD
    assert state["workflows"][str(wf)]["nodes"][SEED] == {
        "status": "resolved", "pack": "rgthree-comfy", "id": "rgthree-comfy", "repository": REPO, "version": OLD}


async def test_one_pack_stamped_at_two_versions_is_one_install_at_the_newest(fresh, registry, comfy_dir, tmp_path):
    publish_rgthree(registry)
    catalog = rgthree_catalog(tmp_path / "catalog")
    wf = workflow(tmp_path / "two.json", (SEED, OLD), (POWER, NEW))
    common = ("--comfyui", str(comfy_dir), "--catalog-dir", str(catalog))

    code, out, err = await mend(fresh, registry.base_url, "check", str(wf), *common)
    rows = [line for line in out.splitlines() if "(rgthree)" in line]
    assert len(rows) == 2 and all(f"@ {NEW}" in r and f"@ {OLD}" not in r for r in rows), out
    assert "installs the newest release" in out

    code, out, err = await mend(fresh, registry.base_url, "resolve", str(wf), "--yes", *common)
    assert code == 0, out + err
    assert out.count("install_pack:") == 1 and f"install_pack: Comfy Registry: rgthree-comfy {NEW}" in out
    assert [p for p in registry.requests if p.startswith("/files/")] == [f"/files/rgthree-comfy/{NEW}.zip"]
    assert manifest_of(comfy_dir)["packs"]["rgthree-comfy"]["version"] == NEW
