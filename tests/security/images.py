"""Images built in memory for the security tests."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def small_png(size: int = 64) -> bytes:
    """A real, decodable PNG with some structure (a gradient)."""
    image = Image.new("RGB", (size, size))
    image.putdata([(x * 4 % 256, y * 4 % 256, (x + y) % 256) for y in range(size) for x in range(size)])
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width: int, height: int) -> bytes:
    """A PNG of a few hundred bytes whose header claims width x height pixels.

    Only the first rows' worth of (compressed) pixel data is present: a reader
    that trusts the header and decodes would allocate width x height x 3 bytes.
    """
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    pixels = zlib.compress(b"\x00" + b"\x00" * (width * 3), 9)  # one filtered row of black
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")
