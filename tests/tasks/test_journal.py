"""The task journal: torn and corrupt lines, a newer schema, compaction and retention."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import pytest

from mend.core.errors import MendError
from mend.core.tasks.journal import SCHEMA, JournalTooNew, read_journal
from mend.core.tasks.manager import TaskManager

from ..task_support import Scripted, SlowWriter


def _write(path: Path, *entries: dict | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [e if isinstance(e, str) else json.dumps(e) for e in entries]
    path.write_text("\n".join(lines))  # no final newline: the last line may be torn


def _created(task_id: str, target: str, t: float | None = None) -> dict:
    return {"ev": "created", "id": task_id, "t": t or time.time(), "kind": "job", "params": {"target": target},
            "target": target, "client_id": None}


async def test_corrupt_and_torn_lines_are_skipped_with_a_warning_and_the_rest_replayed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = tmp_path / "tasks.jsonl"
    _write(journal,
           {"schema": SCHEMA, "version": 1},
           _created("a", "x"),
           "{this is not json",
           ["a list, not an event"],
           _created("b", "y"),
           {"ev": "completed", "id": "b", "result": {"ok": 1}},
           '{"ev": "completed", "id": "a", "res')  # the tail of a crash
    m = TaskManager(tmp_path, retention=3600)
    m.register(Scripted("job", [], hold=30))
    with caplog.at_level(logging.WARNING):
        await m.start()
    assert "corrupt or truncated" in caplog.text
    a, b = await m.get("a"), await m.get("b")
    assert b.state == "completed" and b.result == {"ok": 1}
    assert a.state in ("queued", "running")  # the torn "completed" never happened: a never-started task runs
    await m.cancel("a")
    await m.close()
    replay = read_journal(journal)  # the rewritten journal is clean and says the same
    assert replay.skipped == 0
    again = TaskManager(tmp_path)
    again.register(Scripted("job", []))
    assert [(t.id, t.state) for t in await again.list()] == [("a", "cancelled"), ("b", "completed")]
    await again.close()


async def test_a_journal_from_a_newer_mend_is_refused_and_left_untouched(tmp_path: Path) -> None:
    journal = tmp_path / "tasks.jsonl"
    _write(journal, {"schema": SCHEMA, "version": 99}, {"ev": "created", "id": "z", "future_field": True})
    before = journal.read_bytes()
    m = TaskManager(tmp_path)
    m.register(Scripted("job", []))
    with pytest.raises(JournalTooNew) as err:
        await m.start()
    assert "newer Mend" in err.value.message
    with pytest.raises(MendError):  # every later call says the same, and nothing is written
        await m.submit("job", {"target": "x"})
    assert journal.read_bytes() == before
    await m.close()


async def test_compaction_keeps_every_task_and_appends_made_meanwhile(tmp_path: Path) -> None:
    m = TaskManager(tmp_path, compact_bytes=4096, checkpoint_interval=0.01)
    m.register(SlowWriter())
    m.register(Scripted("job", []))
    tasks = [await m.submit("slow_write", {"path": str(tmp_path / f"f{i}"), "steps": 20, "delay": 0.005})
             for i in range(3)]
    tasks += [await m.submit("job", {"target": f"j{i}"}) for i in range(30)]
    for t in tasks:
        await asyncio.wait_for(m.wait(t.id), 20)
    await asyncio.sleep(0.1)  # let a last compaction finish
    await m.close()
    journal = tmp_path / "tasks.jsonl"
    replay = read_journal(journal)
    assert any(e["ev"] == "snapshot" for events in replay.events.values() for e in events)  # it did compact
    assert replay.lines < 3 * len(tasks)  # each task wrote at least created, attempt, completed
    again = TaskManager(tmp_path)
    again.register(SlowWriter())
    again.register(Scripted("job", []))
    restored = {t.id: t for t in await again.list()}
    assert {t.id: (t.state, t.attempt) for t in tasks} == {i: (t.state, t.attempt) for i, t in restored.items()}
    assert all(t.state == "completed" for t in restored.values())
    assert restored[tasks[0].id].result == {"resumed_from": 0, "steps": 20}
    await again.close()


async def test_finished_tasks_are_forgotten_after_the_retention_period(tmp_path: Path) -> None:
    long_ago = time.time() - 10 * 24 * 3600
    _write(tmp_path / "tasks.jsonl",
           {"schema": SCHEMA, "version": 1},
           _created("old", "x", long_ago),
           {"ev": "completed", "id": "old", "t": long_ago + 5, "result": {}},
           _created("recent", "y"),
           {"ev": "failed", "id": "recent", "error": {"message": "no"}, "retry_at": None},
           _created("stale-but-live", "z", long_ago))
    m = TaskManager(tmp_path, retention=7 * 24 * 3600)
    m.register(Scripted("job", [], resumable=False))
    await m.start()
    assert {t.id: t.state for t in await m.list()} == {"stale-but-live": "queued", "recent": "failed"}
    await m.close()
    assert "old" not in read_journal(tmp_path / "tasks.jsonl").events  # compacted away on disk too
