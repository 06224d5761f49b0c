"""Decode a PNG screenshot with the standard library (zlib, struct) to look at its pixels."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}
"""Samples per pixel of each colour type the decoder takes (no palette: type 3)."""


@dataclass(frozen=True)
class Image:
    """Pixels of an 8-bit image: ``rows[y][x * channels:(x + 1) * channels]``."""

    width: int
    height: int
    channels: int
    rows: list[bytes]

    def pixel(self, x: int, y: int) -> tuple[int, ...]:
        """The samples of pixel (``x``, ``y``): (r, g, b[, a]) or grey values."""
        c = self.channels
        return tuple(self.rows[y][x * c:(x + 1) * c])

    def colours(self) -> set[bytes]:
        """The distinct pixel values (as bytes of their samples)."""
        c = self.channels
        return {row[i:i + c] for row in self.rows for i in range(0, len(row), c)}


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(kind: int, line: bytearray, prior: bytes, bpp: int) -> bytes:
    """Undo one scanline's filter (PNG spec section 9.2)."""
    if kind == 0:
        return bytes(line)
    n = len(line)
    for i in range(n):
        left = line[i - bpp] if i >= bpp else 0
        up = prior[i]
        if kind == 1:
            line[i] = (line[i] + left) & 255
        elif kind == 2:
            line[i] = (line[i] + up) & 255
        elif kind == 3:
            line[i] = (line[i] + ((left + up) >> 1)) & 255
        elif kind == 4:
            corner = prior[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + _paeth(left, up, corner)) & 255
        else:
            raise ValueError(f"unknown PNG filter type {kind}")
    return bytes(line)


def decode(data: bytes) -> Image:
    """The pixels of a non-interlaced 8-bit greyscale/RGB/RGBA PNG. Raises ValueError for
    anything else (bad signature, palette, 16-bit samples, interlacing)."""
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PNG file")
    pos, idat = len(SIGNATURE), []
    width = height = depth = kind = interlace = 0
    while pos < len(data):
        length, name = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if name == b"IHDR":
            width, height, depth, kind, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif name == b"IDAT":
            idat.append(body)
        elif name == b"IEND":
            break
    if depth != 8 or kind not in CHANNELS or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {kind}, "
                         f"interlace {interlace}")
    channels = CHANNELS[kind]
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    rows: list[bytes] = []
    prior = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        line = _unfilter(raw[start], bytearray(raw[start + 1:start + 1 + stride]), prior,
                         channels)
        rows.append(line)
        prior = line
    return Image(width, height, channels, rows)
