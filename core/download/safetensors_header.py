"""Read and check a ``.safetensors`` header with the standard library alone (no numpy, no torch).

The format: 8 bytes little-endian header length N, N bytes of JSON (an object; may be padded with
spaces), then the tensor data. Each JSON entry but ``__metadata__`` is a tensor with ``dtype``,
``shape`` and ``data_offsets`` ``[begin, end]`` relative to the data section. A valid file's tensors
cover the data section exactly: no gap, no overlap, nothing after the last tensor, and each tensor's
byte length is its element count times its dtype's size. Mend checks this after every download, in
any environment (a fresh venv has no numpy, and Mend must not install it)::

    >>> header = read_header(Path("x.safetensors"))      # raises InvalidSafetensors with the reason
    >>> header.tensors["w"].dtype, header.parameter_count
    ('F16', 4096)
"""

from __future__ import annotations

import json
import math
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

#: bits per element of every dtype the safetensors format defines
DTYPE_BITS = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "U16": 16, "I16": 16,
    "F16": 16, "BF16": 16, "U32": 32, "I32": 32, "F32": 32, "U64": 64, "I64": 64, "F64": 64,
    "C64": 64, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}
MAX_HEADER = 100_000_000  # the reference implementation's limit too


class InvalidSafetensors(ValueError):
    """The file is not a valid safetensors file; the message says why."""


@dataclass(frozen=True)
class TensorInfo:
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


@dataclass
class SafetensorsHeader:
    tensors: dict[str, TensorInfo] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def parameter_count(self) -> int:
        return sum(math.prod(t.shape) for t in self.tensors.values())

    def dtype_counts(self) -> dict[str, int]:
        return dict(Counter(t.dtype for t in self.tensors.values()))


def read_header(path: Path) -> SafetensorsHeader:
    """Parse and check ``path``'s header against its size; raises ``InvalidSafetensors``."""
    with open(path, "rb") as f:
        size = _file_size(f)
        if size < 8:
            raise InvalidSafetensors(f"{size} bytes is too short for a header length")
        (length,) = struct.unpack("<Q", f.read(8))
        if length > min(MAX_HEADER, size - 8):
            raise InvalidSafetensors(f"the header length {length} exceeds the file ({size} bytes)")
        raw = f.read(length)
    return parse_header(raw, data_size=size - 8 - length)


def parse_header(raw: bytes, *, data_size: int) -> SafetensorsHeader:
    """Check a header's JSON and that its tensors fill ``data_size`` bytes exactly."""
    if not raw.startswith(b"{"):
        raise InvalidSafetensors("the header is not a JSON object")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidSafetensors(f"the header is not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise InvalidSafetensors("the header is not a JSON object")
    header = SafetensorsHeader(metadata=_metadata(doc.pop("__metadata__", None)))
    for name, entry in doc.items():
        header.tensors[name] = _tensor(name, entry)
    _check_coverage(header.tensors, data_size)
    return header


def _metadata(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidSafetensors("__metadata__ is not an object of strings")
    return value


def _tensor(name: str, entry: object) -> TensorInfo:
    if not isinstance(entry, dict):
        raise InvalidSafetensors(f"tensor {name!r} is not an object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in DTYPE_BITS:
        raise InvalidSafetensors(f"tensor {name!r} has an unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
        raise InvalidSafetensors(f"tensor {name!r} has an invalid shape {shape!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(o) for o in offsets)
            and offsets[0] <= offsets[1]):
        raise InvalidSafetensors(f"tensor {name!r} has invalid data_offsets {offsets!r}")
    bits = math.prod(shape) * DTYPE_BITS[dtype]
    if bits % 8 or bits // 8 != offsets[1] - offsets[0]:
        raise InvalidSafetensors(f"tensor {name!r}: {dtype} {shape} needs {bits / 8:g} bytes, "
                                 f"its data_offsets span {offsets[1] - offsets[0]}")
    return TensorInfo(dtype, tuple(shape), offsets[0], offsets[1])


def _check_coverage(tensors: dict[str, TensorInfo], data_size: int) -> None:
    """Sorted by offset, each tensor starts where the previous ended and the last ends at the file's end."""
    position = 0
    for name, t in sorted(tensors.items(), key=lambda kv: (kv[1].begin, kv[1].end)):
        if t.begin != position:
            gap = "overlaps the previous one" if t.begin < position else f"leaves a gap at byte {position}"
            raise InvalidSafetensors(f"tensor {name!r} {gap}")
        position = t.end
    if position != data_size:
        raise InvalidSafetensors(f"the tensors cover {position} bytes of data, the file holds {data_size}"
                                 + (" (truncated?)" if position > data_size else ""))


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _file_size(f) -> int:
    f.seek(0, 2)
    size = f.tell()
    f.seek(0)
    return size
