/**
 * PDQ, the perceptual hash Meta published for matching images (hashing/image.py
 * stores it as `pdq`), computed here so the photo never leaves the device.
 *
 * Written from the PDQ description (Meta's pdqhash-2017-10-09 paper and the
 * ThreatExchange README) and checked bit for bit against the `pdqhash` Python
 * package (Meta's reference C++, BSD licence) on the vectors in tests/vectors/.
 * The C++ works in 32-bit floats, so every arithmetic step below is rounded to
 * float32 (`f`) where the reference rounds, in the reference's order;
 * working in doubles instead changes a bit or two on some images, which is
 * what the parity tests catch.
 *
 * Steps:
 * 1. Luminance Y = 0.299 R + 0.587 G + 0.114 B, computed in double and stored
 *    as float32 (the Python binding does it in numpy float64, then casts).
 * 2. Images smaller than 5 pixels on a side get the all-zero hash, quality 0.
 * 3. Unless the image is already 64x64: a Jarosz tent filter (two passes of a
 *    box filter along rows, then along columns), windows of
 *    ceil(dimension / 128) pixels, then decimation to 64x64 by taking the
 *    pixel at each cell's centre.
 * 4. Quality: the sum of the quantised gradients of the 64x64 image / 90,
 *    capped at 100.
 * 5. A 2D DCT of the 64x64 image keeping frequencies 1..16 on each axis.
 * 6. One bit per coefficient: greater than the median (the 128th smallest).
 */

const f = Math.fround;
const MIN_SIDE = 5;
const SIDE = 64;
const KEPT = 16;
const TENT_PASSES = 2;

/** Rows 1..16 of the 64-point DCT-II basis, scaled by sqrt(2/64), as float32. */
const DCT = (() => {
  const matrix = new Float32Array(KEPT * SIDE);
  const scale = f(Math.sqrt(2 / SIDE));
  for (let i = 0; i < KEPT; i++) {
    for (let j = 0; j < SIDE; j++) {
      matrix[i * SIDE + j] = scale * Math.cos((Math.PI / 2 / SIDE) * (i + 1) * (2 * j + 1));
    }
  }
  return matrix;
})();

/** Float32 luminance of an RGB or RGBA pixel buffer (channels = 3 or 4). */
export function luminance(data, width, height, channels) {
  const luma = new Float32Array(width * height);
  for (let p = 0, q = 0; p < luma.length; p++, q += channels) {
    luma[p] = data[q] * 0.299 + data[q + 1] * 0.587 + data[q + 2] * 0.114;
  }
  return luma;
}

/** Box-filter window for one pass: two passes of it span one 64th of the side. */
export function tentWindow(side) {
  return Math.floor((side + 2 * SIDE - 1) / (2 * SIDE));
}

/**
 * One running-sum box filter over `length` values `stride` apart. The window
 * grows from half its width at the start and shrinks again at the end, so
 * edges are averaged over the pixels that exist rather than padded.
 */
function box(input, output, start, length, stride, window) {
  const half = Math.floor((window + 2) / 2);
  let sum = 0;
  let count = 0;
  let add = start;
  let drop = start;
  let out = start;
  for (let i = 0; i < half - 1; i++, add += stride) {
    sum = f(sum + input[add]);
    count++;
  }
  for (let i = 0; i < window - half + 1; i++, add += stride, out += stride) {
    sum = f(sum + input[add]);
    count++;
    output[out] = sum / count;
  }
  for (let i = 0; i < length - window; i++, add += stride, drop += stride, out += stride) {
    sum = f(sum + input[add]);
    sum = f(sum - input[drop]);
    output[out] = sum / count;
  }
  for (let i = 0; i < half - 1; i++, drop += stride, out += stride) {
    sum = f(sum - input[drop]);
    count--;
    output[out] = sum / count;
  }
}

function tentFilter(luma, scratch, width, height) {
  const alongRows = tentWindow(width);
  const alongColumns = tentWindow(height);
  for (let pass = 0; pass < TENT_PASSES; pass++) {
    for (let y = 0; y < height; y++) box(luma, scratch, y * width, width, 1, alongRows);
    for (let x = 0; x < width; x++) box(scratch, luma, x, height, width, alongColumns);
  }
}

function decimate(luma, width, height) {
  const small = new Float32Array(SIDE * SIDE);
  for (let i = 0; i < SIDE; i++) {
    const y = Math.trunc(((i + 0.5) * height) / SIDE);
    for (let j = 0; j < SIDE; j++) {
      small[i * SIDE + j] = luma[y * width + Math.trunc(((j + 0.5) * width) / SIDE)];
    }
  }
  return small;
}

/** PDQ's quality: how much detail (gradient) the 64x64 image has, 0..100. */
export function quality(small) {
  let total = 0;
  const step = (u, v) => Math.abs(Math.trunc(f(f(f(u - v) * 100) / 255)));
  for (let i = 0; i < SIDE - 1; i++) {
    for (let j = 0; j < SIDE; j++) total += step(small[i * SIDE + j], small[(i + 1) * SIDE + j]);
  }
  for (let i = 0; i < SIDE; i++) {
    for (let j = 0; j < SIDE - 1; j++) total += step(small[i * SIDE + j], small[i * SIDE + j + 1]);
  }
  return Math.min(100, Math.trunc(total / 90));
}

/** The 16x16 block of DCT coefficients, summed in float32 in index order. */
function dct16(small) {
  const partial = new Float32Array(KEPT * SIDE);
  for (let i = 0; i < KEPT; i++) {
    for (let j = 0; j < SIDE; j++) {
      let sum = 0;
      for (let k = 0; k < SIDE; k++) sum = f(sum + f(DCT[i * SIDE + k] * small[k * SIDE + j]));
      partial[i * SIDE + j] = sum;
    }
  }
  const out = new Float32Array(KEPT * KEPT);
  for (let i = 0; i < KEPT; i++) {
    for (let j = 0; j < KEPT; j++) {
      let sum = 0;
      for (let k = 0; k < SIDE; k++) sum = f(sum + f(partial[i * SIDE + k] * DCT[j * SIDE + k]));
      out[i * KEPT + j] = sum;
    }
  }
  return out;
}

/**
 * Hex as Meta writes PDQ: bit k (k = 16 i + j for coefficient (i, j)) has
 * weight 2^k, most significant nibble first (= hashing.image.bits_to_hex).
 */
export function pdqHex(bits) {
  let hex = "";
  for (let k = bits.length - 4; k >= 0; k -= 4) {
    hex += ((bits[k + 3] << 3) | (bits[k + 2] << 2) | (bits[k + 1] << 1) | bits[k]).toString(16);
  }
  return hex;
}

/**
 * PDQ of an 8-bit RGB(A) image: {pdq: 64 hex characters, quality: 0..100}.
 * `data` is row-major with `channels` bytes per pixel (4 for canvas ImageData).
 */
export function pdq(data, width, height, channels = 4) {
  if (width < MIN_SIDE || height < MIN_SIDE) return { pdq: "0".repeat(64), quality: 0 };
  let small;
  if (width === SIDE && height === SIDE) {
    small = luminance(data, width, height, channels);
  } else {
    const luma = luminance(data, width, height, channels);
    tentFilter(luma, new Float32Array(luma.length), width, height);
    small = decimate(luma, width, height);
  }
  const coefficients = dct16(small);
  const median = Float32Array.from(coefficients).sort()[(KEPT * KEPT) / 2 - 1];
  const bits = new Uint8Array(KEPT * KEPT);
  for (let k = 0; k < bits.length; k++) bits[k] = coefficients[k] > median ? 1 : 0;
  return { pdq: pdqHex(bits), quality: quality(small) };
}
