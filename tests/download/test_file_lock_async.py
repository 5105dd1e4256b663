"""The inter-process lock behind one-writer-per-part: real OS locks, a real second process, cancel, cleanup."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mend.core.download.file_lock import file_lock_if_free, hold_file_lock, try_lock, unlock

HOLD = """
import sys, time
sys.path[:0] = [sys.argv[2]]
from mend.core.download.file_lock import try_lock
fd = try_lock(__import__('pathlib').Path(sys.argv[1]))
print('held' if fd is not None else 'busy', flush=True)
time.sleep(60)
"""


def holder(path: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(Path(__file__).parents[3])],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


async def test_a_killed_holder_releases_at_once(tmp_path: Path) -> None:
    path = tmp_path / ".x.mend-lock"
    proc = holder(path)
    waits: list[str] = []
    try:
        entered = asyncio.Event()

        async def take() -> None:
            async with hold_file_lock(path, poll=0.02, on_wait=lambda: waits.append("waiting")):
                entered.set()

        taker = asyncio.create_task(take())
        await asyncio.sleep(0.2)
        assert not entered.is_set() and waits == ["waiting"]
        proc.kill()
        await asyncio.wait_for(taker, 5)
    finally:
        proc.kill()
        proc.wait()
    assert not path.exists()  # removed on release


async def test_cancel_while_waiting_raises_and_takes_nothing(tmp_path: Path) -> None:
    path = tmp_path / ".x.mend-lock"
    fd = try_lock(path)
    assert fd is not None
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(asyncio.CancelledError):
        async with hold_file_lock(path, cancel, poll=0.01):
            pass
    unlock(path, fd)
    assert try_lock(path) is not None


def test_two_descriptors_in_one_process_exclude_each_other(tmp_path: Path) -> None:
    path = tmp_path / ".x.mend-lock"
    fd = try_lock(path)
    assert fd is not None and try_lock(path) is None
    with file_lock_if_free(path) as alone:
        assert alone is False
    unlock(path, fd)
    with file_lock_if_free(path) as alone:
        assert alone is True and try_lock(path) is None
    assert not path.exists()


def test_after_removal_a_new_file_at_the_path_is_a_new_free_lock(tmp_path: Path) -> None:
    """The holder removes the file on release; whoever comes next locks the new file, and only one does."""
    path = tmp_path / ".x.mend-lock"
    fd = try_lock(path)
    assert fd is not None
    unlock(path, fd)  # removed
    path.write_text("")  # someone else's fresh file at the path, unlocked
    fd2 = try_lock(path)
    assert fd2 is not None and try_lock(path) is None
    unlock(path, fd2)


async def test_a_file_system_without_locks_goes_on_without_one(tmp_path: Path, monkeypatch, caplog) -> None:
    """Some FUSE and network mounts refuse flock (ENOLCK): waiting for a lock there would wait forever."""
    import errno

    from mend.core.download import file_lock as file_lock_async

    def refuse(fd: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(file_lock_async, "_lock", refuse)
    path = tmp_path / ".x.mend-lock"
    with pytest.raises(file_lock_async.LocksUnsupported):
        try_lock(path)
    entered = []
    async with hold_file_lock(path, poll=0.01):
        entered.append(1)
    with file_lock_if_free(path) as alone:
        assert alone is True
    assert entered == [1] and not path.exists()
    assert [r.message for r in caplog.records].count(
        f"{tmp_path} takes no file locks: No locks available; downloads there are not protected against a second "
        "writer") == 1
