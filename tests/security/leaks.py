"""Finding a photo's bytes wherever they might have leaked.

Searching for every 4096-byte window of a photo directly would be slow and is
unnecessary: any 4096-byte window contains one whole 2048-byte block that
starts at a multiple of 2048. So it is enough (and stricter) to look for each
aligned 2048-byte block, raw and in the text forms bytes take when they are
written somewhere as text: hex, and base64 at each of the three alignments a
block can have inside a longer base64 stream (standard and URL-safe).
"""

from __future__ import annotations

import base64
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db import connection

BLOCK = 2048
WINDOW = 2 * BLOCK
# Each needle is indexed by its KEY-byte slices at the first STRIDE offsets, and
# a haystack is probed every STRIDE bytes: a needle at any position overlaps
# exactly one probe at one of those offsets, so no occurrence can be missed.
KEY = 16
STRIDE = 32
_WHITESPACE = re.compile(rb"\s+")


@dataclass(frozen=True)
class Needle:
    data: bytes
    what: str  # e.g. "block 12 (bytes 24576-26623) as base64+1"


def encodings(block: bytes) -> Iterator[tuple[str, bytes]]:
    yield "raw", block
    yield "hex", block.hex().encode()
    yield "HEX", block.hex().upper().encode()
    for offset in range(3):
        part = block[offset : offset + (len(block) - offset) // 3 * 3]
        yield f"base64+{offset}", base64.b64encode(part)
        yield f"urlsafe-base64+{offset}", base64.urlsafe_b64encode(part)


class PhotoFinder:
    """Finds any 4096-byte window of `photo`, raw, hex or base64, in a haystack."""

    def __init__(self, photo: bytes) -> None:
        if len(photo) < WINDOW:
            raise ValueError("The photo must be at least 4096 bytes")
        self.needles: list[Needle] = []
        for start in range(0, len(photo) - BLOCK + 1, BLOCK):
            block = photo[start : start + BLOCK]
            for name, data in encodings(block):
                where = f"block {start // BLOCK} (bytes {start}-{start + BLOCK - 1}) as {name}"
                self.needles.append(Needle(data, where))
        self._index: dict[bytes, list[tuple[int, int]]] = {}
        for number, needle in enumerate(self.needles):
            for offset in range(STRIDE):
                self._index.setdefault(needle.data[offset : offset + KEY], []).append((number, offset))

    def find(self, haystack: bytes) -> str | None:
        """What was found (which block, which encoding), or None."""
        found = self._find(haystack)
        if found is None:
            # base64 is often wrapped at 64 or 76 characters (MIME, PEM).
            stripped = _WHITESPACE.sub(b"", haystack)
            if len(stripped) != len(haystack) and (found := self._find(stripped)) is not None:
                found += ", once whitespace is removed"
        return found

    def _find(self, haystack: bytes) -> str | None:
        index = self._index
        for probe in range(0, len(haystack) - KEY + 1, STRIDE):
            candidates = index.get(haystack[probe : probe + KEY])
            if not candidates:
                continue
            for number, offset in candidates:
                needle = self.needles[number]
                start = probe - offset
                if start >= 0 and haystack[start : start + len(needle.data)] == needle.data:
                    return f"{needle.what} at offset {start}"
        return None


# --- Turning stored values into bytes -----------------------------------------------


def as_bytes(value: Any) -> bytes:
    """A stored value as the bytes it could carry a photo in."""
    if value is None:
        return b""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, memoryview):
        return value.tobytes()
    if isinstance(value, str):
        # Bytes smuggled through a str as latin-1 come back with latin-1.
        return value.encode("utf-8", "surrogateescape") + b"\0" + value.encode("latin-1", "replace")
    if isinstance(value, dict):
        return b"\0".join(as_bytes(k) + b"\0" + as_bytes(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return b"\0".join(as_bytes(v) for v in value)
    return str(value).encode()


def database_dump() -> Iterator[tuple[str, bytes]]:
    """Every row of every table, twice: through each model (decrypted) and raw SQL (as stored)."""
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        rows = model._base_manager.using(connection.alias).values_list()
        yield f"model {model._meta.label}", b"\n".join(as_bytes(row) for row in rows)
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - introspected names
            yield f"table {table}", b"\n".join(as_bytes(row) for row in cursor.fetchall())


def search_database(finder: PhotoFinder) -> list[str]:
    return [f"{where}: {found}" for where, blob in database_dump() if (found := finder.find(blob))]


# --- Files ----------------------------------------------------------------------------


def regular_files(root: Path, *, since: float | None = None, skip: Iterable[Path] = ()) -> Iterator[Path]:
    """Regular files under root (symlinks not followed), optionally modified since a time."""
    skipped = {p.resolve() for p in skip}
    for directory, subdirs, files in os.walk(root, followlinks=False):
        here = Path(directory)
        subdirs[:] = [d for d in subdirs if (here / d).resolve() not in skipped]
        for name in files:
            path = here / name
            try:
                info = path.lstat()
            except OSError:
                continue  # gone meanwhile
            if not stat.S_ISREG(info.st_mode):
                continue  # sockets, FIFOs (reading one would block), symlinks
            if since is not None and max(info.st_mtime, info.st_ctime) < since:
                continue
            yield path


def search_files(finder: PhotoFinder, paths: Iterable[Path], *, chunk: int = 64 * 1024 * 1024) -> list[str]:
    """Search each file in chunks that overlap by more than the longest needle."""
    overlap = 2 * max(len(n.data) for n in finder.needles)
    found = []
    for path in paths:
        try:
            with path.open("rb") as stream:
                tail = b""
                while piece := stream.read(chunk):
                    data = tail + piece
                    if hit := finder.find(data):
                        found.append(f"{path}: {hit}")
                        break
                    tail = data[-overlap:]
        except OSError:
            continue  # gone meanwhile, or not ours to read
    return found


def flatten(value: Any) -> bytes:
    """Task arguments as bytes: raw bytes kept, everything else as text (and JSON when it can be)."""
    text = as_bytes(value)
    try:
        return text + b"\0" + json.dumps(value, default=repr).encode()
    except (TypeError, ValueError):
        return text + b"\0" + repr(value).encode()
