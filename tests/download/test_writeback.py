"""Early writeback of a download's part: the libc call is made right and leaves the bytes as written."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from mend.core.download import writeback
from mend.core.download.stream import Sink


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sync_file_range is Linux only")
def test_start_writeback_queues_a_written_range(tmp_path: Path) -> None:
    f = tmp_path / "m.part"
    data = os.urandom(3 << 20)
    fd = os.open(f, os.O_WRONLY | os.O_CREAT)
    try:
        os.write(fd, data)
        assert writeback.start_writeback(fd, 0, len(data)) is True
        assert writeback.start_writeback(fd, 0, 0) is False
    finally:
        os.close(fd)
    assert f.read_bytes() == data


def test_the_sink_asks_for_writeback_every_so_many_bytes(tmp_path: Path, monkeypatch) -> None:
    asked: list[tuple[int, int]] = []
    monkeypatch.setattr(writeback, "EVERY", 1000)
    monkeypatch.setattr(writeback, "start_writeback", lambda fd, offset, length: asked.append((offset, length)))
    sink = Sink(tmp_path / "m.part", 0, None)
    for _ in range(5):
        sink.write(memoryview(b"x" * 600))
    sink.close(True)
    assert asked == [(0, 1200), (1200, 1200)]
    assert (tmp_path / "m.part").read_bytes() == b"x" * 3000
