"""Canonical decode and image hashes (PDQ, pHash, dHash, MD5, SHA-256).

Pure Python + Pillow/numpy: no Django, so the offline hasher can use it. All
work happens in memory; nothing is written to disk.
"""

from __future__ import annotations

import hashlib
import io
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import imagehash
import numpy as np
import pdqhash
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from .errors import CorruptMedia, MediaTooLarge, UnsupportedMedia

try:  # HEIC/HEIF (iPhone photos); optional so the library still imports without it.
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is in requirements.txt
    pass

# Versions of the stored algorithms: bump when a change alters output, so
# re-hashing adds rows next to the old ones instead of silently mixing them.
ALGORITHM_VERSIONS = {"pdq": "1", "phash": "1", "dhash": "1", "md5": "1", "sha256": "1"}

DEFAULT_MAX_PIXELS = 64_000_000
# PDQ works on a 64x64 downsample; decoding JPEGs at >= 512 px keeps the hash
# within ~1 bit of a full decode (DESIGN.md) at a fraction of the cost.
DRAFT_SIZE = (512, 512)
PDQ_QUALITY_UNRELIABLE = 50


@dataclass(frozen=True)
class ImageHashes:
    pdq: str
    pdq_quality: int
    phash: str
    dhash: str
    md5: str
    sha256: str
    width: int
    height: int

    @property
    def pdq_reliable(self) -> bool:
        return self.pdq_quality >= PDQ_QUALITY_UNRELIABLE

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def bits_to_hex(bits: np.ndarray) -> str:
    """PDQ bits (most significant first) to the 64-character hex form Meta uses."""
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return f"{value:0{len(bits) // 4}x}"


def _open(data: bytes, max_pixels: int) -> Image.Image:
    if not data:
        raise UnsupportedMedia("The file is empty.")
    try:
        with warnings.catch_warnings():
            # Pillow warns (rather than raises) between 1x and 2x its own
            # limit; we apply our own limit below, before any pixel is decoded.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise UnsupportedMedia("This file is not an image we can read (JPEG, PNG, GIF, WebP, HEIC, TIFF…).") from exc
    except Image.DecompressionBombError as exc:
        raise MediaTooLarge(
            f"This image has more pixels than the {max_pixels:,} we open safely. Try a smaller copy of it."
        ) from exc
    width, height = image.size
    if width * height > max_pixels:
        raise MediaTooLarge(
            f"This image is {width}x{height} pixels, more than the {max_pixels:,} we open safely. "
            "Try a smaller copy of it."
        )
    return image


# WeasyPrint sets Pillow's process-wide ImageFile.LOAD_TRUNCATED_IMAGES on
# import (every notice PDF imports it), after which Pillow would hash a
# truncated upload as if its missing part were grey. Decoding here always
# refuses truncated data; the lock stops two concurrent decodes from restoring
# the flag under each other (workers are processes, so it is rarely contended).
_STRICT_DECODE = threading.Lock()


@contextmanager
def _refuse_truncated() -> Iterator[None]:
    with _STRICT_DECODE:
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous


def canonical_rgb(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, fast: bool = True) -> Image.Image:
    """Decode to the canonical form every hash is computed from.

    1. Refuse empty, unknown and over-large images before decoding pixels.
    2. JPEG only, when `fast`: decode at reduced scale (draft mode, >= 512 px).
    3. First frame of an animation.
    4. Apply the EXIF orientation.
    5. Composite any transparency over white; convert every mode to 8-bit RGB.
    """
    image = _open(data, max_pixels)
    try:
        with _refuse_truncated():
            if fast and image.format == "JPEG":
                image.draft("RGB", DRAFT_SIZE)
            image.seek(0)
            image.load()
            image = ImageOps.exif_transpose(image) or image
            return _to_rgb(image)
    except Image.DecompressionBombError as exc:
        raise MediaTooLarge("This image has too many pixels to open safely.") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptMedia("This image file is damaged or incomplete (it may not have finished downloading).") from exc


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit and float greyscale: scale into 8 bits rather than clipping.
        array = np.asarray(image, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        scaled = np.zeros_like(array) if high == low else (array - low) * (255.0 / (high - low))
        image = Image.fromarray(scaled.astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode == "CMYK":
        return image.convert("RGB")
    if image.mode in ("LAB", "HSV", "YCbCr"):
        return image.convert("RGB")
    return image.convert("RGB")


def pdq_of(rgb: Image.Image) -> tuple[str, int]:
    bits, quality = pdqhash.compute(np.asarray(rgb, dtype=np.uint8))
    return bits_to_hex(bits), int(quality)


def pdq_dihedral(rgb: Image.Image) -> list[str]:
    """The eight PDQ hashes of the image's rotations and flips, for querying."""
    hashes, _quality = pdqhash.compute_dihedral(np.asarray(rgb, dtype=np.uint8))
    return [bits_to_hex(h) for h in hashes]


def hash_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, fast: bool = True) -> ImageHashes:
    """Every hash Redress keeps for one image, from its bytes, in memory."""
    rgb = canonical_rgb(data, max_pixels=max_pixels, fast=fast)
    pdq, quality = pdq_of(rgb)
    return ImageHashes(
        pdq=pdq,
        pdq_quality=quality,
        phash=str(imagehash.phash(rgb)),
        dhash=str(imagehash.dhash(rgb)),
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
        width=rgb.width,
        height=rgb.height,
    )


def distance(a: str, b: str) -> int:
    """Hamming distance between two equal-length hex hashes."""
    if len(a) != len(b):
        raise ValueError("Hashes of different lengths cannot be compared")
    return (int(a, 16) ^ int(b, 16)).bit_count()


PDQ_MATCH_THRESHOLD = 31


def pdq_match(a: str, b: str, threshold: int = PDQ_MATCH_THRESHOLD) -> bool:
    return distance(a, b) <= threshold
