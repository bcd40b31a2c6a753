"""Hashing 12-megapixel photos: `hash_image` against the naive pipelines and the decode floor.

The photos are made here, in memory, each run: 4000x3000 smooth colour
fields, mid-scale texture, overlapping shapes and sensor-like noise, saved as
JPEG quality 90 (about 2 MB each; a phone's 12 MP JPEG is 2-5 MB). Nothing is downloaded or
written to disk.

Each figure is images per second on one core, the best of three passes over
the same photos:

- `hash_image`: all five hashes (PDQ with quality, pHash, dHash, MD5,
  SHA-256) through the canonical decode, JPEG at reduced scale (draft);
- naive `imagehash.phash(Image.open(f))` and naive `pdqhash` on a full decode,
  as the issue measures them, and a naive pipeline computing all five hashes
  from one full decode (the strongest naive baseline);
- the floors: decoding the JPEG at 1/4 scale (draft) and at 1/8 scale, and
  nothing else; and a full decode.

Then how far the fast path's hashes are from the full-decode reference (PDQ
and pHash bits), and the same for a 1/8-scale decode, which is too coarse.

    python bench/bench_hash.py [--images N]
"""

from __future__ import annotations

import argparse
import hashlib
import io

import imagehash
import numpy as np
import pdqhash
from common import ROOT, Results, best_rate
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from hashing.image import bits_to_hex, canonical_rgb, distance, hash_image, pdq_of

SIZE = (4000, 3000)


def photo(seed: int, size: tuple[int, int] = SIZE) -> Image.Image:
    """A photograph-like picture: what matters to decode and hash cost is size, detail and noise."""
    rng = np.random.default_rng(seed)
    width, height = size
    base = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize(size, Image.Resampling.BICUBIC)
    texture = Image.fromarray(rng.integers(0, 256, (height // 60, width // 60), dtype=np.uint8))
    texture = texture.resize(size, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(3))
    image = Image.blend(base, Image.merge("RGB", [texture] * 3), 0.3)
    draw = ImageDraw.Draw(image, "RGBA")
    for _ in range(40):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = int(rng.integers(80, width // 3)), int(rng.integers(80, height // 3))
        colour = (*(int(c) for c in rng.integers(0, 256, 3)), int(rng.integers(90, 230)))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape([x - w // 2, y - h // 2, x + w // 2, y + h // 2], fill=colour)
    pixels = np.asarray(image, dtype=np.int16) + rng.normal(0, 5, (height, width, 3)).astype(np.int16)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def heic(image: Image.Image) -> bytes | None:
    try:
        from pillow_heif import register_heif_opener

        register_heif_opener()
        buffer = io.BytesIO()
        # The fastest x265 preset: only the decode is measured.
        image.save(buffer, format="HEIF", quality=80, enc_params={"preset": "ultrafast"})
        return buffer.getvalue()
    except (ImportError, OSError, ValueError) as exc:
        print(f"[hash] HEIC skipped: {exc}")
        return None


def real_photos() -> list[bytes]:
    """The one real 12 MP phone photo in the shared test vectors (4032x3024, four EXIF orientations), if present."""
    folder = ROOT.parent / "shared" / "vectors" / "pdq" / "reg-test-input" / "exif-rotn"
    return [path.read_bytes() for path in sorted(folder.glob("exif-rotn-*.jpg"))]


def naive_phash(data: bytes) -> None:
    imagehash.phash(Image.open(io.BytesIO(data)))


def naive_pdq(data: bytes) -> None:
    pdqhash.compute(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))


def naive_pipeline(data: bytes) -> None:
    """All five hashes, naively but sharing one full decode."""
    rgb = Image.open(io.BytesIO(data)).convert("RGB")
    pdqhash.compute(np.asarray(rgb))
    imagehash.phash(rgb)
    imagehash.dhash(rgb)
    hashlib.md5(data, usedforsecurity=False).hexdigest()
    hashlib.sha256(data).hexdigest()


def full_decode(data: bytes) -> None:
    Image.open(io.BytesIO(data)).convert("RGB")


def draft_decode(data: bytes, scale: int) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.draft("RGB", (image.width // scale, image.height // scale))
    image.load()
    return image


def rate(photos: list[bytes], work) -> float:  # type: ignore[no-untyped-def]
    def one_pass() -> int:
        for data in photos:
            work(data)
        return len(photos)

    return best_rate(one_pass)


def run(argv: list[str] | None = None) -> Results:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8, help="12 MP photos to generate (default 8)")
    args = parser.parse_args(argv)
    print(f"[hash] generating {args.images} 12 MP photos in memory", flush=True)
    pictures = [photo(seed) for seed in range(args.images)]
    photos = [jpeg(p) for p in pictures]
    print(f"[hash] JPEG sizes: {', '.join(f'{len(p) / 1e6:.1f} MB' for p in photos)}", flush=True)

    results = Results()
    p = "hash.12mp_jpeg"
    results.add(f"{p}.naive_pdqhash_full_decode", rate(photos, naive_pdq), "images/s")
    results.add(f"{p}.naive_imagehash_phash", rate(photos, naive_phash), "images/s")
    results.add(f"{p}.naive_pipeline_five_hashes", rate(photos, naive_pipeline), "images/s")
    results.add(f"{p}.floor_full_decode", rate(photos, full_decode), "images/s")
    results.add(f"{p}.floor_decode_quarter_scale", rate(photos, lambda d: draft_decode(d, 4)), "images/s")
    results.add(f"{p}.floor_decode_eighth_scale", rate(photos, lambda d: draft_decode(d, 8)), "images/s")
    fast = rate(photos, hash_image)
    results.add(f"{p}.hash_image_vs_naive_pipeline", fast, "images/s", f"{p}.naive_pipeline_five_hashes")
    results.add(f"{p}.hash_image_vs_naive_pdqhash", fast, "images/s", f"{p}.naive_pdqhash_full_decode")
    results.add(f"{p}.hash_image_vs_naive_phash", fast, "images/s", f"{p}.naive_imagehash_phash")
    results.add(f"{p}.hash_image_vs_quarter_scale_floor", fast, "images/s", f"{p}.floor_decode_quarter_scale")
    results.add(f"{p}.hash_image_vs_eighth_scale_floor", fast, "images/s", f"{p}.floor_decode_eighth_scale")

    # Accuracy of the fast path against the full decode (the conformance bound is 10 bits).
    pdq_fast, pdq_eighth, phash_fast, qualities = [], [], [], []
    for data in photos:
        reference_rgb = canonical_rgb(data, fast=False)
        bits, quality = pdqhash.compute(np.asarray(reference_rgb))
        reference = bits_to_hex(bits)
        hashes = hash_image(data)
        qualities.append(int(quality))
        pdq_fast.append(distance(hashes.pdq, reference))
        pdq_eighth.append(distance(pdq_of(draft_decode(data, 8).convert("RGB"))[0], reference))
        phash_fast.append(distance(hashes.phash, str(imagehash.phash(reference_rgb))))
    results.add(f"{p}.pdq_quality_min", min(qualities), "quality")
    results.add(f"{p}.pdq_distance_fast_path_mean", float(np.mean(pdq_fast)), "bits")
    results.add(f"{p}.pdq_distance_fast_path_max", max(pdq_fast), "bits")
    results.add(f"{p}.pdq_distance_eighth_scale_mean", float(np.mean(pdq_eighth)), "bits")
    results.add(f"{p}.pdq_distance_eighth_scale_max", max(pdq_eighth), "bits")
    results.add(f"{p}.phash_distance_fast_path_mean", float(np.mean(phash_fast)), "bits")
    results.add(f"{p}.phash_distance_fast_path_max", max(phash_fast), "bits")

    real = real_photos()
    if real:
        r = "hash.real_12mp_jpeg"
        results.add(f"{r}.naive_pipeline_five_hashes", rate(real, naive_pipeline), "images/s")
        results.add(f"{r}.floor_decode_quarter_scale", rate(real, lambda d: draft_decode(d, 4)), "images/s")
        real_fast = rate(real, hash_image)
        results.add(f"{r}.hash_image_vs_naive_pipeline", real_fast, "images/s", f"{r}.naive_pipeline_five_hashes")
        results.add(f"{r}.hash_image_vs_quarter_scale_floor", real_fast, "images/s", f"{r}.floor_decode_quarter_scale")
        fast_d, eighth_d = [], []
        for data in real:
            reference_rgb = canonical_rgb(data, fast=False)
            reference = bits_to_hex(pdqhash.compute(np.asarray(reference_rgb))[0])
            fast_d.append(distance(hash_image(data).pdq, reference))
            eighth = ImageOps.exif_transpose(draft_decode(data, 8)).convert("RGB")
            eighth_d.append(distance(pdq_of(eighth)[0], reference))
        results.add(f"{r}.pdq_distance_fast_path_max", max(fast_d), "bits")
        results.add(f"{r}.pdq_distance_eighth_scale_max", max(eighth_d), "bits")

    heics = [h for h in (heic(pictures[0]),) if h]
    if heics:
        h = "hash.12mp_heic"
        results.add(f"{h}.naive_pipeline_five_hashes", rate(heics, naive_pipeline), "images/s")
        results.add(f"{h}.floor_full_decode", rate(heics, full_decode), "images/s")
        heic_fast = rate(heics, hash_image)
        results.add(f"{h}.hash_image_vs_naive_pipeline", heic_fast, "images/s", f"{h}.naive_pipeline_five_hashes")
        results.add(f"{h}.hash_image_vs_full_decode_floor", heic_fast, "images/s", f"{h}.floor_full_decode")

    results.print("Hashing 12 MP photos (images/s on one core, best of 3; distances in bits)")
    return results


if __name__ == "__main__":
    run()
