"""The task manager: busy targets, cancel, retries (automatic and by hand), limits, restarts."""

from __future__ import annotations

import asyncio
import errno
import time
from pathlib import Path

import aiohttp
import pytest
from multidict import CIMultiDict

from mend.core.errors import Conflict, InvalidField, NotFound
from mend.core.tasks.manager import JournalBusy, TaskManager
from mend.core.tasks.task_api import PermanentTaskError, RetryableTaskError, classify_failure

from ..task_support import Scripted, SlowWriter, Stubborn


@pytest.fixture
async def manager(tmp_path: Path):
    managers: list[TaskManager] = []

    def make(**kwargs) -> TaskManager:
        kwargs.setdefault("backoff", (0.01, 0.05))
        m = TaskManager(tmp_path / "state", **kwargs)
        managers.append(m)
        return m

    yield make
    for m in managers:
        await m.close()


async def test_the_same_target_twice_is_refused_with_the_running_tasks_id(manager, tmp_path: Path) -> None:
    m = manager()
    m.register(SlowWriter())
    params = {"path": str(tmp_path / "f.bin"), "steps": 50, "delay": 0.01}
    first = await m.submit("slow_write", params)
    with pytest.raises(Conflict) as err:
        await m.submit("slow_write", params)
    assert err.value.status == 409
    assert err.value.to_json()["error"]["task_id"] == first.id
    await m.cancel(first.id)
    second = await m.submit("slow_write", params)  # a finished task frees its target
    assert second.id != first.id


async def test_unknown_kind_and_unknown_id(manager) -> None:
    m = manager()
    with pytest.raises(InvalidField):
        await m.submit("nope", {})
    with pytest.raises(NotFound):
        await m.get("does-not-exist")
    with pytest.raises(NotFound):
        await m.cancel("does-not-exist")


async def test_cancel_stops_thread_and_subprocess_within_a_second_and_cleans_up(manager) -> None:
    m = manager()
    runner = Stubborn()
    m.register(runner)
    task = await m.submit("stubborn", {"target": "t"})
    await asyncio.wait_for(runner.started.wait(), 10)
    t0 = time.monotonic()
    await m.cancel(task.id)
    elapsed = time.monotonic() - t0
    assert task.state == "cancelled"
    assert elapsed < 1.0, elapsed
    assert runner.thread_stopped.is_set()  # the worker thread returned before cleanup ran
    assert runner.proc.returncode is not None  # the child process is gone
    assert runner.cleaned
    with pytest.raises(Conflict):  # a finished task cannot be cancelled again
        await m.cancel(task.id)


async def test_cancel_a_queued_task_waiting_for_its_turn(manager) -> None:
    m = manager(limits={"a": 1})
    runner = Scripted("a", [], hold=30)
    m.register(runner)
    running = await m.submit("a", {"target": "1"})
    queued = await m.submit("a", {"target": "2"})
    await asyncio.sleep(0.05)
    assert (running.state, queued.state) == ("running", "queued")  # the kind's limit is 1
    await m.cancel(queued.id)
    assert queued.state == "cancelled" and queued.attempt == 0
    await m.cancel(running.id)


async def test_per_kind_limits_are_separate(manager) -> None:
    m = manager(limits={"download": 2, "install": 1})
    downloads, installs = Scripted("download", [], hold=30), Scripted("install", [], hold=30)
    m.register(downloads)
    m.register(installs)
    tasks = [await m.submit("download", {"target": f"d{i}"}) for i in range(3)]
    tasks += [await m.submit("install", {"target": f"i{i}"}) for i in range(2)]
    await asyncio.sleep(0.05)
    assert [t.state for t in tasks] == ["running", "running", "queued", "running", "queued"]
    await m.cancel(tasks[0].id)
    await asyncio.sleep(0.05)
    assert tasks[2].state == "running"  # the freed slot went to the next download
    for t in tasks[1:]:
        await m.cancel(t.id)


async def test_a_retryable_failure_retries_by_itself_honouring_retry_after(manager) -> None:
    m = manager()
    runner = Scripted("flaky", [RetryableTaskError("503 from the hub", retry_after=0.3), ConnectionResetError()])
    m.register(runner)
    task = await m.submit("flaky", {"target": "x"})
    await asyncio.wait_for(m.wait(task.id), 10)
    assert task.state == "completed"
    assert task.attempt == 3
    assert task.result == {"attempt": 3}
    assert runner.started[1] - runner.started[0] >= 0.3  # Retry-After beat the 10 ms backoff


async def test_a_permanent_failure_does_not_retry_and_says_where_it_broke(manager) -> None:
    m = manager()
    m.register(Scripted("bad", [PermanentTaskError("sha256 mismatch"), None]))
    task = await m.submit("bad", {"target": "x"})
    await asyncio.wait_for(m.wait(task.id), 10)
    assert task.state == "failed"
    assert task.attempt == 1
    assert task.error["message"] == "sha256 mismatch"
    assert task.error["retryable"] is False
    assert task.error["step"] == "work"


async def test_retries_stop_at_the_attempt_limit(manager) -> None:
    m = manager(max_attempts=3)
    m.register(Scripted("flaky", [TimeoutError()] * 10))
    task = await m.submit("flaky", {"target": "x"})
    await asyncio.wait_for(m.wait(task.id), 10)
    assert (task.state, task.attempt, task.error["retryable"]) == ("failed", 3, True)


async def test_retry_by_hand_counts_attempts(manager) -> None:
    m = manager()
    runner = Scripted("bad", [ValueError("bad input"), None])
    m.register(runner)
    task = await m.submit("bad", {"target": "x"})
    await m.wait(task.id)
    assert (task.state, task.attempt) == ("failed", 1)
    await m.retry(task.id)
    await m.wait(task.id)
    assert (task.state, task.attempt) == ("completed", 2)
    with pytest.raises(Conflict):  # completed: nothing to retry
        await m.retry(task.id)


async def test_a_restart_resumes_downloads_by_themselves_and_leaves_installs_to_the_user(
    manager, tmp_path: Path
) -> None:
    first = manager()
    install = Scripted("install", [], resumable=False, hold=30)
    first.register(install)
    first.register(SlowWriter())
    out = tmp_path / "model.bin"
    inst = await first.submit("install", {"target": "pack"})
    dl = await first.submit("slow_write", {"path": str(out), "steps": 40, "delay": 0.01})
    await asyncio.sleep(0.1)
    await first.close()  # like a server restart: nothing is journaled as cancelled

    second = manager()
    second.register(Scripted("install", [], resumable=False))
    second.register(SlowWriter())
    await second.start()
    again = await second.get(inst.id)
    assert again.state == "interrupted" and again.interrupted_reason == "restart"
    with pytest.raises(Conflict):  # the interrupted install still holds its target
        await second.submit("install", {"target": "pack"})
    resumed = await second.wait(dl.id, timeout=10)
    assert resumed.state == "completed" and resumed.attempt == 2
    assert out.stat().st_size == 40 * 1024
    await second.resume(inst.id)
    await second.wait(inst.id, timeout=10)
    assert (again.state, again.attempt) == ("completed", 2)


async def test_a_paused_download_stays_paused_across_a_restart_and_resumes_from_its_part(manager, tmp_path) -> None:
    first = manager()
    first.register(SlowWriter())
    out = tmp_path / "model.bin"
    dl = await first.submit("slow_write", {"path": str(out), "steps": 60, "delay": 0.01})
    while dl.done == 0:
        await asyncio.sleep(0.01)
    await first.pause(dl.id)
    kept = out.stat().st_size
    assert dl.state == "interrupted" and dl.interrupted_reason == "paused" and kept > 0
    await first.close()

    second = manager()
    second.register(SlowWriter())
    await second.start()
    again = await second.get(dl.id)
    assert (again.state, again.interrupted_reason) == ("interrupted", "paused")  # not resumed by itself
    await asyncio.sleep(0.1)
    assert out.stat().st_size == kept
    await second.resume(dl.id)
    done = await second.wait(dl.id, timeout=10)
    assert done.state == "completed" and done.result["resumed_from"] > 0


async def test_a_kind_registered_after_start_picks_up_its_replayed_tasks(manager) -> None:
    first = manager()
    first.register(Scripted("late", [], hold=30))
    task = await first.submit("late", {"target": "x"})
    await asyncio.sleep(0.05)
    await first.close()
    second = manager()
    await second.start()
    assert (await second.get(task.id)).state == "interrupted"
    second.register(Scripted("late", []))
    assert (await second.wait(task.id, timeout=10)).state == "completed"


async def test_one_process_owns_a_journal(manager) -> None:
    await manager().start()
    with pytest.raises(JournalBusy):
        await manager().start()


def test_failures_are_classified() -> None:
    def response_error(status: int, headers: dict | None = None) -> aiohttp.ClientResponseError:
        return aiohttp.ClientResponseError(None, (), status=status, headers=CIMultiDict(headers or {}))

    assert classify_failure(response_error(503)).retryable
    too_many = classify_failure(response_error(429, {"Retry-After": "7"}))
    assert too_many.retryable and too_many.retry_after == 7
    assert not classify_failure(response_error(404)).retryable
    assert not classify_failure(response_error(403)).retryable
    assert classify_failure(asyncio.TimeoutError()).retryable
    assert classify_failure(ConnectionResetError()).retryable
    assert classify_failure(aiohttp.ClientPayloadError("cut")).retryable
    disk_full = classify_failure(OSError(errno.ENOSPC, "No space left on device"))
    assert (disk_full.code, disk_full.retryable) == ("disk_full", False)
    assert not classify_failure(ValueError("bad input")).retryable
    assert not classify_failure(PermanentTaskError("hash mismatch")).retryable
