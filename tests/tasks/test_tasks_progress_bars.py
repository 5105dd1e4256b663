"""The CLI's tqdm bars, driven by real task events."""

from __future__ import annotations

import io
from pathlib import Path

from mend.cli.progress import TaskBars, watch
from mend.core.tasks.manager import TaskManager
from mend.core.tasks.task_api import PermanentTaskError

from ..task_support import Chatty, Scripted


async def test_bars_follow_tasks_to_their_final_state(tmp_path: Path) -> None:
    m = TaskManager(tmp_path, progress_interval=0.05)
    chatty = Chatty()
    chatty.kind = "download"
    m.register(chatty)
    m.register(Scripted("install", [PermanentTaskError("pip said no")]))
    out = io.StringIO()
    ok = await m.submit("download", {"target": "models/checkpoints/big.safetensors", "steps": 300})
    bad = await m.submit("install", {"target": "custom_nodes/pack"})
    tasks = await watch(m, [ok.id, bad.id], file=out)
    await m.close()
    assert [t.state for t in tasks] == ["completed", "failed"]
    text = out.getvalue()
    assert "download models/checkpoints/big.safetensors" in text
    assert "300/300" in text and "B/s, done" in text  # counted in bytes
    assert "FAILED: pip said no (during work)" in text


def test_a_bar_restarts_when_a_new_attempt_reports_less() -> None:
    out = io.StringIO()
    bars = TaskBars(out)
    base = {"id": "t", "kind": "install", "target": "p", "attempt": 1}
    bars("mend.task", {**base, "state": "running", "progress": {"done": 50, "total": 100}})
    bars("mend.task", {**base, "state": "running", "attempt": 2, "progress": {"done": 10, "total": 100}})
    bars("mend.task", {**base, "state": "completed", "attempt": 2, "progress": {"done": 100, "total": 100}})
    bars("mend.other", {"id": "x"})  # other events are ignored
    text = out.getvalue()
    assert "10/100" in text and "attempt 2" in text and "100/100" in text
