"""Write the parity vectors the browser hashers are tested against.

Each vector is an RGB pixel array and what the server computes from exactly
those pixels (`hashing.image.pdq_of`, `imagehash.phash`, `imagehash.dhash`):
tests/browser/test_local_hashing.py feeds the same pixels to the JavaScript
in static/js/hashing/ and requires every bit to agree.

The arrays cover what tends to break a port: random noise (every rounding
step visible), smooth noise (photo-like), flat images and one-directional
gradients (most DCT coefficients are rounding noise around zero), sizes at
the algorithms' edges (under 5 px, exactly 9x8, 32x32 and 64x64, odd sizes,
upscaling), and the PDQ conformance images decoded by Pillow and shrunk.

    .venv/bin/python tests/vectors/make_vectors.py
        rewrites tests/vectors/parity.json (kept under 1 MB)
    .venv/bin/python tests/vectors/make_vectors.py --random 2000 --out /tmp/many.json
        adds 2000 random-size arrays, for a one-off wider check (not committed)
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from hashing.image import canonical_rgb, pdq_of  # noqa: E402

VECTORS = ROOT.parent / "shared" / "vectors" / "pdq"
OUT = Path(__file__).with_name("parity.json")
MAX_BYTES = 1_000_000
SEED = 20240606


def expected(rgb: np.ndarray) -> dict[str, object]:
    image = Image.fromarray(rgb, "RGB")
    pdq, quality = pdq_of(image)
    return {
        "pdq": pdq,
        "pdq_quality": quality,
        "phash": str(imagehash.phash(image)),
        "dhash": str(imagehash.dhash(image)),
    }


def vector(name: str, rgb: np.ndarray) -> dict[str, object]:
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width, _ = rgb.shape
    return {
        "name": name,
        "width": width,
        "height": height,
        "rgb": base64.b64encode(rgb.tobytes()).decode(),
        **expected(rgb),
    }


def smooth(rng: np.random.Generator, height: int, width: int, cells: int) -> np.ndarray:
    """Random colours on a coarse grid, bilinearly interpolated: photo-like gradients."""
    grid = rng.integers(0, 256, (cells + 1, cells + 1, 3)).astype(np.float64)
    ys = np.linspace(0, cells, height)
    xs = np.linspace(0, cells, width)
    y0 = np.minimum(ys.astype(int), cells - 1)
    x0 = np.minimum(xs.astype(int), cells - 1)
    fy = (ys - y0)[:, None, None]
    fx = (xs - x0)[None, :, None]
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x0 + 1] * fx
    bottom = grid[y0 + 1][:, x0] * (1 - fx) + grid[y0 + 1][:, x0 + 1] * fx
    return np.rint(top * (1 - fy) + bottom * fy).astype(np.uint8)


def synthetic(rng: np.random.Generator) -> Iterator[tuple[str, np.ndarray]]:
    for height, width in [(4, 7), (5, 5), (8, 9), (9, 8), (32, 32), (31, 33), (64, 64), (63, 65), (70, 50)]:
        yield f"random {width}x{height}", rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    for height, width, cells in [(48, 64, 3), (96, 128, 6), (100, 75, 4), (129, 130, 8), (160, 240, 10)]:
        yield f"smooth {width}x{height}", smooth(rng, height, width, cells)
    h, w = 60, 80
    y, x = np.mgrid[0:h, 0:w]
    channels = lambda grey: np.repeat(grey[:, :, None], 3, axis=2).astype(np.uint8)  # noqa: E731
    yield "flat grey", np.full((h, w, 3), 128, dtype=np.uint8)
    yield "flat black 64x64", np.zeros((64, 64, 3), dtype=np.uint8)
    yield "horizontal gradient", channels(x * 255 // (w - 1))
    yield "vertical gradient", channels(y * 255 // (h - 1))
    yield "diagonal gradient", channels((x + y) * 255 // (w + h - 2))
    yield "radial gradient", channels(np.hypot(x - w / 2, y - h / 2) * 255 / np.hypot(w / 2, h / 2))
    yield (
        "colour gradient",
        np.stack([x * 255 // (w - 1), y * 255 // (h - 1), 255 - x * 255 // (w - 1)], axis=2).astype(np.uint8),
    )
    yield "checkerboard", channels(((x // 8 + y // 8) % 2) * 255)
    yield "stripes", channels((x // 3 % 2) * 255)


def conformance_images(limit_side: int = 80) -> Iterator[tuple[str, np.ndarray]]:
    """The PDQ conformance images as Pillow decodes them, shrunk to keep the file small."""
    for path in sorted(VECTORS.rglob("*")):
        if path.suffix.lower() not in {".jpg", ".png", ".webp"} or {"modes", "dih"} & set(path.parts):
            continue
        if path.parent.name == "bridge-mods" and path.name != "aaa-orig.jpg":
            continue  # near-copies of one photo add size, not coverage
        image = canonical_rgb(path.read_bytes())
        image.thumbnail((limit_side, limit_side), Image.Resampling.LANCZOS)
        yield f"{path.relative_to(VECTORS)} at {image.width}x{image.height}", np.asarray(image)


def random_sizes(rng: np.random.Generator, count: int) -> Iterator[tuple[str, np.ndarray]]:
    for n in range(count):
        height, width = (int(v) for v in rng.integers(1, 220, 2))
        kind = n % 3
        if kind == 0:
            rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        elif kind == 1:
            rgb = smooth(rng, height, width, int(rng.integers(1, 12)))
        else:  # low-contrast: small differences around a grey level
            rgb = (rng.integers(0, 6, (height, width, 3)) + int(rng.integers(0, 250))).astype(np.uint8)
        yield f"random #{n} {width}x{height} kind {kind}", rgb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--random", type=int, default=0, help="add this many random arrays (not for the committed file)"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    cases = [vector(name, rgb) for name, rgb in synthetic(rng)]
    cases += [vector(name, rgb) for name, rgb in conformance_images()]
    cases += [vector(name, rgb) for name, rgb in random_sizes(rng, args.random)]
    text = json.dumps({"generator": "tests/vectors/make_vectors.py", "vectors": cases}, indent=0)
    if args.out == OUT and len(text) > MAX_BYTES:
        raise SystemExit(f"{OUT.name} would be {len(text):,} bytes; keep it under {MAX_BYTES:,}")
    args.out.write_text(text + "\n")
    print(f"{len(cases)} vectors, {len(text):,} bytes -> {args.out}")


if __name__ == "__main__":
    main()
