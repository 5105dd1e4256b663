"""The framework-free safetensors header check: real files written by ``safetensors.numpy`` pass with the
same figures the library reads; every kind of broken file is refused with a reason that names it."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import save_file

from mend.core.download.safetensors_header import InvalidSafetensors, read_header


def raw_file(path: Path, header: object, data: bytes = b"", *, length: int | None = None) -> Path:
    blob = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(blob) if length is None else length) + blob + data)
    return path


def test_real_file_matches_the_library(tmp_path):
    path = tmp_path / "m.safetensors"
    save_file({"a": np.zeros((3, 4), np.float16), "b": np.ones(5, np.int64), "c": np.zeros((0, 2), np.float32),
               "d": np.zeros(7, np.bool_)}, str(path), metadata={"format": "pt", "x": "1"})
    header = read_header(path)
    with safe_open(str(path), framework="numpy") as f:
        assert set(f.keys()) == set(header.tensors)
        for key in header.tensors:
            assert list(header.tensors[key].shape) == f.get_slice(key).get_shape()
        assert header.metadata == f.metadata()
    assert header.parameter_count == 12 + 5 + 0 + 7
    assert header.dtype_counts() == {"F16": 1, "I64": 1, "F32": 1, "BOOL": 1}


def test_empty_tensor_table_and_padding_are_valid(tmp_path):
    assert read_header(raw_file(tmp_path / "e.safetensors", b"{}      ")).tensors == {}


BROKEN = [
    ("short", None, b"", "too short"),
    ("length beyond the file", {"t": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}, b"\0", "exceeds"),
    ("not json", b"{not json", b"", "not valid JSON"),
    ("not an object", b"[1, 2]", b"", "not a JSON object"),
    ("unknown dtype", {"t": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}}, b"\0" * 16, "unknown dtype"),
    ("bad shape", {"t": {"dtype": "U8", "shape": [-1], "data_offsets": [0, 1]}}, b"\0", "invalid shape"),
    ("bad offsets", {"t": {"dtype": "U8", "shape": [1], "data_offsets": [1, 0]}}, b"\0", "invalid data_offsets"),
    ("size mismatch", {"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4, "needs 8 bytes"),
    ("gap", {"a": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}, b"\0\0", "gap at byte 0"),
    ("overlap", {"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},
                 "b": {"dtype": "U8", "shape": [2], "data_offsets": [1, 3]}}, b"\0" * 3, "overlaps"),
    ("trailing bytes", {"t": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}, b"\0\0", "file holds 2"),
    ("truncated", {"t": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}}, b"\0\0", "truncated"),
    ("bad metadata", {"__metadata__": {"n": 1}}, b"", "__metadata__"),
]


@pytest.mark.parametrize(("case", "header", "data", "reason"), BROKEN, ids=[c[0] for c in BROKEN])
def test_broken_files_are_refused_with_the_reason(tmp_path, case, header, data, reason):
    path = tmp_path / "x.safetensors"
    if header is None:
        path.write_bytes(b"\1\2")
    elif case == "length beyond the file":
        raw_file(path, header, data, length=10_000)
    else:
        raw_file(path, header, data)
    with pytest.raises(InvalidSafetensors, match=reason):
        read_header(path)
