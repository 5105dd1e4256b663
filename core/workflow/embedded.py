r"""Workflows embedded in the files ComfyUI saves: PNG, WEBP, FLAC, MP3, Opus, MP4 and WEBM, read by hand.

People share workflows as the images, audio and video ComfyUI wrote, with the workflow inside; the editor
loads them by drag and drop. What ComfyUI 0.8.0 writes (``comfy_api/latest/_ui.py``, ``nodes_video.py``,
``_input_impl/video_types.py``), each as JSON text under the key ``workflow`` (the UI graph) and
``prompt`` (the API prompt), plus any other ``extra_pnginfo`` key:

- PNG: ``tEXt`` chunks (``iTXt`` when the text is not Latin-1; ``zTXt`` read too); an animated PNG
  uses private ``comf`` chunks (``key\0json``);
- WEBP (animated): the ``EXIF`` chunk, tag 0x0110 (Model) ``prompt:<json>`` and 0x010F (Make) counting
  down for ``workflow:<json>`` and the other keys;
- FLAC and Opus/Vorbis: Vorbis comments ``prompt=...``, ``workflow=...``; MP3: ID3v2 ``TXXX`` frames;
- MP4/MOV (``movflags use_metadata_tags``): ``mdta`` keys and their ``ilst`` values; WEBM/MKV:
  ``SimpleTag`` names and strings.

The UI workflow is preferred; without it the API prompt is read. No image or media library is needed.

    >>> png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I4s", 17, b"tEXt") + b'workflow\0{"a": 1}' + bytes(4)
    >>> extract_workflow(png)
    ({'a': 1}, 'PNG tEXt workflow')
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import DamagedEmbeddedWorkflow, NoEmbeddedWorkflow, NotAWorkflowFile

Buffer = bytes | memoryview
MAX_TEXT = 256 * 1024 * 1024  # a zTXt/iTXt chunk inflates to at most this (a zip bomb is not read)


def extract_workflow(data: Buffer) -> tuple[Any, str]:
    """The embedded workflow (parsed JSON) and where it was found, e.g. ``("...", "PNG tEXt workflow")``."""
    kind, reader = _sniff(bytes(data[:16]))
    if reader is None:
        raise NotAWorkflowFile(
            "the file is neither JSON nor a file ComfyUI embeds a workflow in (PNG, WEBP, FLAC, MP3, Opus, MP4, WEBM)")
    texts: dict[str, tuple[str, str]] = {}
    try:
        for key, text, where in reader(memoryview(data)):
            texts.setdefault(key.strip().lower(), (text, where))
    except (struct.error, IndexError, ValueError, zlib.error) as exc:
        if not texts:
            raise NoEmbeddedWorkflow(f"this {kind} file is damaged where its metadata is ({exc})") from exc
    broken = []
    for key in ("workflow", "prompt"):
        if key in texts:
            text, where = texts[key]
            try:
                return json.loads(text), f"{kind} {where} {key}"
            except ValueError as exc:
                broken.append(f"its '{key}' metadata is not valid JSON ({exc})")
    if broken:
        raise DamagedEmbeddedWorkflow(f"this {kind} file embeds a workflow that is damaged: {'; '.join(broken)}")
    raise NoEmbeddedWorkflow(f"this {kind} file embeds no ComfyUI workflow (no 'workflow' or 'prompt' metadata)")


def is_media(head: bytes) -> bool:
    """Whether the first bytes of a file are one of the formats ``extract_workflow`` reads."""
    return _sniff(head[:16])[1] is not None


Reader = Callable[[memoryview], Iterator[tuple[str, str, str]]]


def _sniff(head: bytes) -> tuple[str, Reader | None]:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG", _png
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP", _webp
    if head.startswith(b"fLaC"):
        return "FLAC", _flac
    if head.startswith(b"OggS"):
        return "Ogg", _ogg
    if head.startswith(b"ID3"):
        return "MP3", _id3
    if head[4:8] == b"ftyp":
        return "MP4", _mp4
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "WEBM", _matroska
    return "", None


# -- PNG ----------------------------------------------------------------------------------------
def _png(data: memoryview) -> Iterator[tuple[str, str, str]]:
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if pos + 12 + length > len(data):
            raise ValueError(f"the {kind.decode('latin-1')} chunk is cut short")
        body = bytes(data[pos + 8:pos + 8 + length])
        pos += 12 + length
        if kind in (b"tEXt", b"comf"):
            key, _, text = body.partition(b"\0")
            yield key.decode("latin-1"), text.decode("latin-1"), kind.decode()
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\0")
            yield key.decode("latin-1"), _inflate(rest[1:]).decode("latin-1"), "zTXt"
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\0")
            compressed = rest[0] == 1
            _lang, _, rest = rest[2:].partition(b"\0")
            _translated, _, text = rest.partition(b"\0")
            yield key.decode("latin-1"), (_inflate(text) if compressed else text).decode("utf-8"), "iTXt"
        elif kind == b"IEND":
            return
    raise ValueError("the file is cut short before its IEND chunk")


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, MAX_TEXT)
    if inflater.unconsumed_tail:
        raise ValueError("a compressed text chunk inflates past the limit")
    return out


# -- WEBP: EXIF in a RIFF container --------------------------------------------------------------
def _webp(data: memoryview) -> Iterator[tuple[str, str, str]]:
    pos = 12
    while pos + 8 <= len(data):
        kind, size = struct.unpack("<4sI", data[pos:pos + 8])
        if kind == b"EXIF":
            yield from _exif(bytes(data[pos + 8:pos + 8 + size]))
        pos += 8 + size + (size & 1)


def _exif(tiff: bytes) -> Iterator[tuple[str, str, str]]:
    if tiff.startswith(b"Exif\0\0"):
        tiff = tiff[6:]
    order = {b"II": "<", b"MM": ">"}[tiff[:2]]
    (ifd,) = struct.unpack(order + "I", tiff[4:8])
    (count,) = struct.unpack(order + "H", tiff[ifd:ifd + 2])
    for i in range(count):
        entry = tiff[ifd + 2 + 12 * i:ifd + 14 + 12 * i]
        _tag, kind, n = struct.unpack(order + "HHI", entry[:8])
        if kind not in (1, 2, 7):  # BYTE, ASCII, UNDEFINED: where text lives
            continue
        if n <= 4:
            raw = entry[8:8 + n]
        else:
            (offset,) = struct.unpack(order + "I", entry[8:12])
            raw = tiff[offset:offset + n]
        key, sep, text = raw.rstrip(b"\0").decode("utf-8", "replace").partition(":")
        if sep:
            yield key, text, "EXIF"


# -- Vorbis comments: FLAC, Ogg (Opus, Vorbis) ---------------------------------------------------
def _vorbis_comments(block: bytes, where: str) -> Iterator[tuple[str, str, str]]:
    (vendor,) = struct.unpack("<I", block[:4])
    pos = 4 + vendor
    (count,) = struct.unpack("<I", block[pos:pos + 4])
    pos += 4
    for _ in range(count):
        (length,) = struct.unpack("<I", block[pos:pos + 4])
        key, sep, value = block[pos + 4:pos + 4 + length].decode("utf-8", "replace").partition("=")
        pos += 4 + length
        if sep:
            yield key, value, where


def _flac(data: memoryview) -> Iterator[tuple[str, str, str]]:
    pos = 4
    while pos + 4 <= len(data):
        header = data[pos]
        length = int.from_bytes(data[pos + 1:pos + 4], "big")
        if header & 0x7F == 4:
            yield from _vorbis_comments(bytes(data[pos + 4:pos + 4 + length]), "Vorbis comment")
        pos += 4 + length
        if header & 0x80:
            return


def _ogg(data: memoryview) -> Iterator[tuple[str, str, str]]:
    """The first stream's second packet (``OpusTags`` or Vorbis' comment header), reassembled across pages."""
    packets: list[bytes] = []
    current = bytearray()
    pos, serial = 0, None
    while pos + 27 <= len(data) and len(packets) < 2:
        if data[pos:pos + 4] != b"OggS":
            raise ValueError("lost Ogg page sync")
        page_serial, nsegs = struct.unpack("<I", data[pos + 14:pos + 18])[0], data[pos + 26]
        lacing = data[pos + 27:pos + 27 + nsegs]
        body = pos + 27 + nsegs
        if serial is None:
            serial = page_serial
        for size in lacing:
            if page_serial == serial:
                current += data[body:body + size]
                if size < 255:
                    packets.append(bytes(current))
                    current = bytearray()
            body += size
        pos = body
    if len(packets) < 2:
        return
    tags = packets[1]
    if tags.startswith(b"OpusTags"):
        yield from _vorbis_comments(tags[8:], "OpusTags")
    elif tags.startswith(b"\x03vorbis"):
        yield from _vorbis_comments(tags[7:], "Vorbis comment")


# -- MP3: ID3v2 TXXX frames ----------------------------------------------------------------------
def _id3(data: memoryview) -> Iterator[tuple[str, str, str]]:
    major = data[3]
    size = _syncsafe(data[6:10])
    pos, end = 10, 10 + size
    if data[5] & 0x40:  # extended header
        pos += _syncsafe(data[10:14]) if major == 4 else 4 + struct.unpack(">I", data[10:14])[0]
    while pos + 10 <= end:
        frame, raw_size = bytes(data[pos:pos + 4]), data[pos + 4:pos + 8]
        if frame == b"\0\0\0\0":
            return
        length = _syncsafe(raw_size) if major == 4 else struct.unpack(">I", raw_size)[0]
        body = bytes(data[pos + 10:pos + 10 + length])
        pos += 10 + length
        if frame == b"TXXX" and body:
            encoding = {0: "latin-1", 1: "utf-16", 2: "utf-16-be", 3: "utf-8"}[body[0]]
            sep = b"\0\0" if body[0] in (1, 2) else b"\0"
            text = body[1:]
            cut = _terminator(text, sep)
            yield text[:cut].decode(encoding), text[cut + len(sep):].rstrip(b"\0").decode(encoding), "ID3 TXXX"


def _syncsafe(raw: Buffer) -> int:
    b = bytes(raw)
    return (b[0] << 21) | (b[1] << 14) | (b[2] << 7) | b[3]


def _terminator(text: bytes, sep: bytes) -> int:
    """Where a (UTF-16: aligned) terminator ends the description of a TXXX frame."""
    i = text.find(sep)
    while len(sep) == 2 and i % 2:
        i = text.find(sep, i + 1)
    return i if i >= 0 else len(text)


# -- MP4: moov/(udta/)meta with mdta keys --------------------------------------------------------
def _atoms(data: memoryview, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if size == 1:
            (size,) = struct.unpack(">Q", data[pos + 8:pos + 16])
            header = 16
        elif size == 0:
            size = end - pos
        if size < header:
            raise ValueError("an MP4 atom shorter than its header")
        yield kind, pos + header, min(pos + size, end)
        pos += size


def _mp4(data: memoryview) -> Iterator[tuple[str, str, str]]:
    for kind, start, end in _atoms(data, 0, len(data)):
        if kind != b"moov":
            continue
        for sub, s, e in _atoms(data, start, end):
            if sub == b"meta":
                yield from _mdta(data, s + 4, e)
            elif sub == b"udta":
                for inner, s2, e2 in _atoms(data, s, e):
                    if inner == b"meta":
                        yield from _mdta(data, s2 + 4, e2)


def _mdta(data: memoryview, start: int, end: int) -> Iterator[tuple[str, str, str]]:
    keys: list[str] = []
    items: list[tuple[int, int, int]] = []
    for kind, s, e in _atoms(data, start, end):
        if kind == b"keys":
            (count,) = struct.unpack(">I", data[s + 4:s + 8])
            pos = s + 8
            for _ in range(count):
                (size,) = struct.unpack(">I", data[pos:pos + 4])
                keys.append(bytes(data[pos + 8:pos + size]).decode("utf-8", "replace"))
                pos += size
        elif kind == b"ilst":
            items = [(int.from_bytes(k, "big"), s2, e2) for k, s2, e2 in _atoms(data, s, e)]
    for index, s, e in items:
        for kind, s2, e2 in _atoms(data, s, e):
            if kind == b"data" and 1 <= index <= len(keys):
                yield keys[index - 1], bytes(data[s2 + 8:e2]).decode("utf-8", "replace"), "mdta"


# -- WEBM / MKV: Segment/Tags/Tag/SimpleTag ------------------------------------------------------
_SEGMENT, _TAGS, _TAG, _SIMPLE, _NAME, _STRING = 0x18538067, 0x1254C367, 0x7373, 0x67C8, 0x45A3, 0x4487


def _vint(data: memoryview, pos: int, keep_marker: bool) -> tuple[int, int]:
    first = data[pos]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8:
        raise ValueError("a broken EBML number")
    value = first if keep_marker else first & (0xFF >> length)
    unknown = value == (0xFF >> length) and not keep_marker
    for b in data[pos + 1:pos + length]:
        value = (value << 8) | b
        unknown = unknown and b == 0xFF
    return (-1 if unknown else value), pos + length


def _elements(data: memoryview, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    pos = start
    while pos < end:
        ident, pos = _vint(data, pos, keep_marker=True)
        size, pos = _vint(data, pos, keep_marker=False)
        stop = end if size < 0 else min(pos + size, end)
        yield ident, pos, stop
        if size < 0 and ident != _SEGMENT:
            return  # an element of unknown size other than the segment: nothing after it can be found
        pos = stop


def _matroska(data: memoryview) -> Iterator[tuple[str, str, str]]:
    for ident, start, end in _elements(data, 0, len(data)):
        if ident != _SEGMENT:
            continue
        for child, s, e in _elements(data, start, end):
            if child != _TAGS:
                continue
            for tag, s2, e2 in _elements(data, s, e):
                if tag != _TAG:
                    continue
                for simple, s3, e3 in _elements(data, s2, e2):
                    if simple == _SIMPLE:
                        fields = {i: bytes(data[a:b]) for i, a, b in _elements(data, s3, e3)}
                        if _NAME in fields and _STRING in fields:
                            yield (fields[_NAME].decode("utf-8", "replace"),
                                   fields[_STRING].decode("utf-8", "replace"), "SimpleTag")
