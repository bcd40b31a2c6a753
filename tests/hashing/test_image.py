"""The pure hashing library: canonical decode, PDQ conformance, typed errors."""

from __future__ import annotations

import csv
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pdqhash
import pytest
from PIL import Image

from hashing import CorruptMedia, MediaTooLarge, UnsupportedMedia, distance, hash_image
from hashing.image import bits_to_hex, canonical_rgb, pdq_dihedral


def _reference_pdq(path: Path) -> tuple[str, int]:
    """pdqhash on Pillow's full decode, EXIF-oriented: the reference the fast path is held to."""
    rgb = canonical_rgb(path.read_bytes(), fast=False)
    bits, quality = pdqhash.compute(np.asarray(rgb))
    return bits_to_hex(bits), int(quality)


def test_the_same_rgb_bytes_give_exactly_the_pdqhash_value(vectors: Path) -> None:
    for path in sorted((vectors / "pdq").rglob("*.jpg")):
        rgb = np.asarray(Image.open(path).convert("RGB"))
        bits, _quality = pdqhash.compute(rgb)
        from hashing.image import pdq_of

        assert pdq_of(Image.fromarray(rgb))[0] == bits_to_hex(bits), path.name


def test_fast_path_stays_within_10_bits_of_the_full_decode(vectors: Path) -> None:
    checked = 0
    for path in sorted((vectors / "pdq").rglob("*")):
        if path.suffix.lower() not in {".jpg", ".png", ".webp"}:
            continue
        reference, quality = _reference_pdq(path)
        if quality < 80:
            continue
        assert distance(hash_image(path.read_bytes()).pdq, reference) <= 10, path.name
        checked += 1
    assert checked >= 20


def test_it_is_within_10_bits_of_metas_browser_build(vectors: Path) -> None:
    rows = list(csv.DictReader((vectors / "pdq" / "meta-wasm-expected.csv").open()))
    matched = 0
    for row in rows:
        relative = row["FilePath"].split("/data/", 1)[-1]
        path = vectors / "pdq" / relative
        if not path.exists():
            continue
        hashes = hash_image(path.read_bytes())
        if hashes.pdq_quality < 80:
            continue
        assert distance(hashes.pdq, row["Hash"]) <= 10, relative
        matched += 1
    assert matched >= 3


def test_every_pillow_mode_hashes_like_the_original(vectors: Path) -> None:
    modes = vectors / "pdq" / "misc-images" / "modes"
    original = hash_image((modes / "original.jpg").read_bytes())
    for path in sorted(modes.iterdir()):
        if path.suffix == ".md":
            continue
        hashes = hash_image(path.read_bytes())
        # 1-bit dithering loses the most; every other mode stays close.
        limit = 40 if path.stem == "1" else 16
        assert distance(hashes.pdq, original.pdq) <= limit, path.name


def test_exif_orientation_is_applied(vectors: Path) -> None:
    folder = vectors / "pdq" / "reg-test-input" / "exif-rotn"
    upright = {n: hash_image((folder / f"exif-rotn-{n}.jpg").read_bytes()) for n in (1, 3, 6, 8)}
    # Orientations 6 and 8 store the picture sideways: once applied, the image is portrait.
    assert upright[1].width > upright[1].height
    assert upright[6].height > upright[6].width
    assert upright[8].height > upright[8].width


def test_dihedral_hashes_find_rotated_and_flipped_copies(vectors: Path) -> None:
    folder = vectors / "pdq" / "reg-test-input" / "dih"
    original = hash_image((folder / "bridge-1-original.jpg").read_bytes()).pdq
    for path in sorted(folder.glob("bridge-*.jpg")):
        rgb = canonical_rgb(path.read_bytes())
        assert min(distance(original, h) for h in pdq_dihedral(rgb)) <= 31, path.name


def test_near_duplicates_match_and_distinct_photos_do_not(vectors: Path) -> None:
    mods = vectors / "pdq" / "bridge-mods"
    original = hash_image((mods / "aaa-orig.jpg").read_bytes())
    for path in sorted(mods.glob("*.jpg")):
        assert distance(hash_image(path.read_bytes()).pdq, original.pdq) <= 31, path.name
    others = [hash_image(p.read_bytes()) for p in sorted((vectors / "pdq/reg-test-input/labelme-subset").glob("*.jpg"))]
    assert all(distance(o.pdq, original.pdq) > 31 for o in others)


def test_a_featureless_image_is_flagged_unreliable(vectors: Path) -> None:
    hashes = hash_image((vectors / "pdq" / "misc-images" / "small.jpg").read_bytes())
    assert hashes.pdq_quality < 50
    assert not hashes.pdq_reliable


def test_exact_hashes_are_of_the_file_bytes(vectors: Path) -> None:
    import hashlib

    data = (vectors / "pdq" / "bridge-mods" / "aaa-orig.jpg").read_bytes()
    hashes = hash_image(data)
    assert hashes.sha256 == hashlib.sha256(data).hexdigest()
    assert hashes.md5 == hashlib.md5(data).hexdigest()
    assert len(hashes.phash) == 16 and len(hashes.dhash) == 16 and len(hashes.pdq) == 64


def test_transparency_is_composited_over_white() -> None:
    clear = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    white = Image.new("RGB", (64, 64), (255, 255, 255))
    assert np.array_equal(np.asarray(canonical_rgb(_png(clear))), np.asarray(white))


def test_it_reads_only_the_first_frame_of_an_animation() -> None:
    frames = [Image.new("RGB", (32, 32), colour) for colour in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    first = np.asarray(canonical_rgb(buffer.getvalue()))
    assert tuple(first[0, 0]) == (255, 0, 0)


def test_it_refuses_an_empty_file() -> None:
    with pytest.raises(UnsupportedMedia):
        hash_image(b"")


def test_it_refuses_text() -> None:
    with pytest.raises(UnsupportedMedia, match="not an image"):
        hash_image(b"hello, this is not a picture")


def test_it_reports_a_truncated_jpeg(vectors: Path) -> None:
    data = (vectors / "pdq" / "bridge-mods" / "aaa-orig.jpg").read_bytes()
    with pytest.raises(CorruptMedia, match="damaged or incomplete"):
        hash_image(data[: len(data) // 2])


def test_it_refuses_a_decompression_bomb_before_decoding() -> None:
    with pytest.raises(MediaTooLarge, match="pixels"):
        hash_image(bomb_png(20000, 20000))
    # Below Pillow's own bomb limit, our (lower, configurable) limit names the size.
    with pytest.raises(MediaTooLarge, match="9000x9000"):
        hash_image(bomb_png(9000, 9000), max_pixels=50_000_000)


def test_the_pixel_limit_is_configurable(vectors: Path) -> None:
    data = (vectors / "pdq" / "bridge-mods" / "aaa-orig.jpg").read_bytes()
    with pytest.raises(MediaTooLarge):
        hash_image(data, max_pixels=1000)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A few hundred bytes whose header claims width x height pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
