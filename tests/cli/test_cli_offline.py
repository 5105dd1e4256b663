"""Offline is visible: ``mend check`` with no network and no cache names the missing catalogs and exits 1.

Run as the installed ``mend`` command, with the channel pointed at a closed loopback port (no network)
and an empty cache.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

MEND = Path(sys.executable).with_name("mend")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mend(*argv: str, cache: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "MEND_CACHE_DIR": str(cache),
               "MEND_MANAGER_CHANNEL": f"http://127.0.0.1:{closed_port()}", "MEND_REGISTRY_URL": "", **env}
    environ.pop("MEND_CATALOG_DIR", None)
    return subprocess.run([str(MEND), *argv], capture_output=True, text=True, env=environ, timeout=120)


def workflow(tmp_path: Path) -> str:
    path = tmp_path / "wf.json"
    path.write_text(json.dumps({"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "a.safetensors"}},
                                "2": {"class_type": "SomePackNode", "inputs": {}}}))
    return str(path)


def test_no_network_and_no_cache_names_the_missing_catalogs_and_exits_1(tmp_path, comfy_dir):
    done = mend("check", workflow(tmp_path), "--comfyui", str(comfy_dir), "--no-registry", cache=tmp_path / "cache")
    assert done.returncode == 1, done.stderr
    assert "catalog_missing" in done.stdout
    assert "extension-node-map.json could not be loaded" in done.stdout
    assert "model-list.json could not be loaded" in done.stdout
    assert "the download failed" in done.stdout and "nothing is cached" in done.stdout
    # stderr says it once for the run, not once per catalog, in words (no exception class names)
    fetch_lines = [line for line in done.stderr.splitlines() if "could not fetch" in line]
    assert len(fetch_lines) == 1, done.stderr
    assert "extension-node-map.json" in fetch_lines[0] and "model-list.json" in fetch_lines[0]
    assert "the connection was refused" in fetch_lines[0] and "nothing cached for" in fetch_lines[0]
    assert "Error" not in done.stderr


def test_the_only_missing_node_is_not_needed_for_another(tmp_path, comfy_dir, small_catalog):
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"1": {"class_type": "AlphaOther", "inputs": {}}}))
    done = mend("check", str(path), "--comfyui", str(comfy_dir), "--no-registry", "--catalog-dir", str(small_catalog),
                cache=tmp_path / "cache")
    assert done.returncode == 1 and "AlphaOther" in done.stdout, done.stderr
    assert "needed anyway" not in done.stdout


def test_the_json_report_carries_each_catalogs_provenance(tmp_path, comfy_dir, small_catalog):
    done = mend("check", workflow(tmp_path), "--comfyui", str(comfy_dir), "--no-registry", "--json",
                cache=tmp_path / "cache", MEND_OFFLINE="1")
    report = json.loads(done.stdout)
    by_name = {c["name"]: c for c in report["catalogs"]}
    assert by_name["extension-node-map.json"]["source"] == "missing"
    assert "offline (MEND_OFFLINE)" in by_name["extension-node-map.json"]["reason"]
    assert {w["code"] for w in report["warnings"]} == {"catalog_missing"}
    pinned = mend("check", workflow(tmp_path), "--comfyui", str(comfy_dir), "--no-registry", "--json",
                  "--catalog-dir", str(small_catalog), cache=tmp_path / "cache")
    status = {c["name"]: c for c in json.loads(pinned.stdout)["catalogs"]}["extension-node-map.json"]
    assert status["source"] == "pinned" and status["path"].startswith(str(small_catalog))
    assert isinstance(status["age_seconds"], int) and status["reason"] is None


def test_a_catalog_dir_that_does_not_exist_is_bad_input(tmp_path, comfy_dir):
    done = mend("check", workflow(tmp_path), "--comfyui", str(comfy_dir), "--catalog-dir", str(tmp_path / "nope"),
                "--no-registry", cache=tmp_path / "cache")
    assert done.returncode == 2 and "--catalog-dir" in done.stderr and "not a directory" in done.stderr
