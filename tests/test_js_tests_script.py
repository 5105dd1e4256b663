"""``scripts/js_tests.sh`` (run by ``scripts/test.sh``) says so when Node.js is missing instead of skipping silently."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "js_tests.sh"


def test_without_node_the_js_tests_are_said_to_be_skipped(tmp_path):
    bin_dir = tmp_path / "bin"  # a PATH with bash and the basics, but no node
    bin_dir.mkdir()
    for tool in ("bash", "dirname"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    out = subprocess.run(["bash", str(SCRIPT)], env={**os.environ, "PATH": str(bin_dir)}, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0
    assert "node not found: the JS tests (tests/js/) are SKIPPED; install Node.js 18 or newer" in out.stderr


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_with_node_they_run():
    out = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "# fail 0" in out.stdout, out.stdout[-2000:]
