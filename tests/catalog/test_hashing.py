"""sha256 of files and of their prefixes (a resumed download goes on from a prefix), page-aligned reads."""

from __future__ import annotations

import ctypes
import hashlib
import mmap
import os
from pathlib import Path

import pytest

from mend.core.catalog.hashing import sha256_file, sha256_prefix
from mend.core.page_buffers import page_buffer


def test_page_buffer_starts_on_a_page_and_takes_socket_style_writes() -> None:
    buf = page_buffer(3 * mmap.PAGESIZE)
    address = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    assert address % mmap.PAGESIZE == 0
    view = memoryview(buf)
    view[5:8] = b"abc"
    assert bytes(view[:9]) == b"\0" * 5 + b"abc\0"


@pytest.mark.parametrize("length", [0, 1, 1023, 1024, 1025, 4096, 5000, 9999])
def test_prefix_digest_equals_hashlib_on_the_same_bytes(tmp_path: Path, length: int) -> None:
    data = os.urandom(5000)
    f = tmp_path / "m.bin"
    f.write_bytes(data)
    assert sha256_prefix(f, length, chunk_size=1024).hexdigest() == hashlib.sha256(data[:length]).hexdigest()


def test_prefix_state_goes_on_like_one_digest(tmp_path: Path) -> None:
    data = os.urandom(3000)
    f = tmp_path / "m.part"
    f.write_bytes(data[:2000])
    state = sha256_prefix(f, 2000, chunk_size=512)
    state.update(data[2000:])
    assert state.hexdigest() == hashlib.sha256(data).hexdigest()
    assert sha256_file(f, chunk_size=512) == hashlib.sha256(data[:2000]).hexdigest()
