"""The manifest under real concurrency: writers killed with SIGKILL mid-write, processes and threads at once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import tomlkit

from mend.core.decide.manifest import Manifest, set_op

# Writes packs p<start>, p<start+1>... as fast as it can (the background fold rewrites the TOML all the
# while), printing "ack N" only once record N is durable.
WRITER = """
import sys
from pathlib import Path
from mend.core.decide.manifest import Manifest
m = Manifest(Path(sys.argv[1]), fold_delay=0.0)
i = int(sys.argv[2])
while True:
    m.record_pack(f"p{i}", source="git", commit=f"{i:040d}")
    print(f"ack {i}", flush=True)
    i += 1
"""

# Several threads of one process write distinct node resolutions of one workflow.
THREADS = """
import sys, threading
from pathlib import Path
from mend.core.decide.manifest import Manifest, set_op
m = Manifest(Path(sys.argv[1]), fold_delay=0.01)
name, threads, each = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def work(t):
    for i in range(each):
        m.write([set_op("workflows", "shared.json", "nodes", f"{name}-{t}-{i}", value=f"pack-{name}")])
ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
for t in ts: t.start()
for t in ts: t.join()
m.close()
"""


def _big_manifest(path: Path, models: int) -> None:
    m = Manifest(path, autofold=False)
    m.write([set_op("models", f"loras/m{i}.safetensors", value={"folder": "loras", "path": f"m{i}.safetensors",
                                                                  "size": i, "sha256": "a" * 64})
             for i in range(models)])
    m.flush()


def test_sigkill_mid_write_never_loses_an_acknowledged_record_or_breaks_the_toml(tmp_path: Path):
    path = tmp_path / "pyproject.toml"
    _big_manifest(path, 150)  # large enough that a fold takes a while, so kills land inside folds too
    acked: set[str] = set()
    rng = random.Random(7)
    next_id = 0
    for _ in range(10):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(next_id)], stdout=subprocess.PIPE,
                                text=True)
        assert proc.stdout is not None
        lines = [proc.stdout.readline()]  # started: the kill lands somewhere in the next moments of writing
        deadline = time.monotonic() + rng.uniform(0.05, 0.4)
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate()
        lines += rest.splitlines()
        ids = [int(line.split()[1]) for line in lines if line.startswith("ack ")]
        acked |= {f"p{i}" for i in ids}
        next_id = (max(ids) + 1) if ids else next_id + 1000
        on_disk = tomlkit.parse(path.read_text()).unwrap()["tool"]["mend"]  # always parses
        assert len(on_disk["models"]) == 150
        assert set(on_disk.get("packs", {})) <= acked | {f"p{next_id - 1}", f"p{next_id}"}
        view = Manifest(path, autofold=False).packs()
        assert acked <= set(view), f"lost {sorted(acked - set(view))[:5]}"
    assert len(acked) > 10
    final = Manifest(path, autofold=False)
    final.flush()
    assert acked <= set(tomlkit.parse(path.read_text()).unwrap()["tool"]["mend"]["packs"])


def test_two_processes_and_threads_writing_at_once_lose_nothing(tmp_path: Path):
    path = tmp_path / "pyproject.toml"
    _big_manifest(path, 50)
    procs = [subprocess.Popen([sys.executable, "-c", THREADS, str(path), name, "4", "25"]) for name in ("a", "b")]
    local = Manifest(path, fold_delay=0.01)  # and this process's threads, via the same API
    for i in range(25):
        local.write([set_op("workflows", "shared.json", "nodes", f"c-0-{i}", value="pack-c")])
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    local.close()
    nodes = tomlkit.parse(path.read_text()).unwrap()["tool"]["mend"]["workflows"]["shared.json"]["nodes"]
    expected = {f"{n}-{t}-{i}" for n in ("a", "b") for t in range(4) for i in range(25)} | {
        f"c-0-{i}" for i in range(25)}
    assert set(nodes) == expected
    assert local.log.read() == []
