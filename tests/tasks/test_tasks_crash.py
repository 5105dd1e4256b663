"""A task survives SIGKILL: a child process runs a slow file writer, is killed half-way, a new one resumes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from ..task_support import CHUNK, chunk

SUPPORT = Path(__file__).resolve().parents[1] / "task_support.py"
STEPS = 60


def _child(state: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(SUPPORT), str(state), *args], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _journal(state: Path) -> list[dict]:
    lines = (state / "tasks.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_killed_mid_task_resumes_from_its_checkpoint_and_completes(tmp_path: Path) -> None:
    state, out = tmp_path / "state", tmp_path / "big.bin"
    first = _child(state, "submit", str(out), str(STEPS))
    try:
        for line in first.stdout:  # wait until a third of the work is journaled, then kill without warning
            task = json.loads(line).get("task", {})
            if task.get("state") == "running" and task["progress"]["done"] >= STEPS * CHUNK // 3:
                checkpoints = [e for e in _journal(state) if e.get("ev") == "checkpoint"]
                if checkpoints:
                    break
        else:
            raise AssertionError(f"the child ended early: {first.wait()}")
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait()
    assert first.returncode == -signal.SIGKILL
    killed_at = max(e["state"]["steps"] for e in _journal(state) if e.get("ev") == "checkpoint")
    assert 0 < killed_at < STEPS

    second = _child(state, "resume")
    output, _ = second.communicate(timeout=60)
    assert second.returncode == 0, output
    done = json.loads(output.strip().splitlines()[-1])["done"]
    assert len(done) == 1
    task = done[0]
    assert task["state"] == "completed", task
    assert task["attempt"] == 2
    # it went on from a checkpoint, not from the start, and the file is exactly right
    assert task["result"]["resumed_from"] >= killed_at > 0
    assert out.read_bytes() == b"".join(chunk(i) for i in range(STEPS))
    attempts = [e["attempt"] for e in _journal(state) if e.get("ev") == "attempt"]
    assert attempts == [1, 2]
