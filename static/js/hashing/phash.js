/**
 * pHash and dHash exactly as the server computes them (`imagehash.phash` and
 * `imagehash.dhash` on a Pillow RGB image, hashing/image.py), so a hash made
 * in the browser matches one made from the same pixels on the server.
 *
 * imagehash does three things whose exact arithmetic matters, reproduced here:
 *
 * 1. Greyscale with Pillow's convert("L"): ITU-R 601-2 luma in 16-bit fixed
 *    point, L = (19595 R + 38470 G + 7471 B + 32768) >> 16.
 * 2. Resizing with Pillow's LANCZOS filter (Pillow's libImaging resampler):
 *    a horizontal and a vertical pass (in the order Pillow picks, see
 *    `resize`), each with filter weights computed in double, normalised to
 *    sum 1, then rounded to 22-bit fixed point; each output pixel is the
 *    fixed-point sum, rounded and clamped to 0..255. A pass is skipped when
 *    that side keeps its size.
 * 3. pHash: scipy.fftpack.dct (DCT-II, unnormalised) along columns, then rows,
 *    of the 32x32 image; the top-left 8x8 coefficients are compared with their
 *    median (the mean of the middle two). scipy computes the DCT with
 *    pocketfft; its rounding is reproduced step for step (`dct2`), because on
 *    flat or one-directional images most coefficients are rounding noise
 *    around zero and the bits depend on that noise.
 *
 * dHash: the 9x8 greyscale image; a bit per pixel, set when it is brighter
 * than its left neighbour. Both hashes print row by row, first bit most
 * significant, 16 hex characters.
 *
 * Parity needs the same operations in the same order as Pillow's
 * libImaging/Resample.c (MIT-CMU licence) and pocketfft's real DCT-II
 * (BSD-3-Clause, Max-Planck-Society), so those steps follow their published
 * algorithms operation for operation. Checked bit for bit against Python on
 * the vectors in tests/vectors/ (tests/browser/test_local_hashing.py).
 */

const PRECISION_BITS = 22;
const SUPPORT = 3; // Lanczos-3

/** Pillow's convert("L") of an RGB(A) buffer. */
export function grey(data, width, height, channels = 4) {
  const out = new Uint8Array(width * height);
  for (let p = 0, q = 0; p < out.length; p++, q += channels) {
    out[p] = (data[q] * 19595 + data[q + 1] * 38470 + data[q + 2] * 7471 + 0x8000) >>> 16;
  }
  return out;
}

function sinc(x) {
  if (x === 0) return 1;
  const t = x * Math.PI;
  return Math.sin(t) / t;
}

function lanczos(x) {
  return -SUPPORT <= x && x < SUPPORT ? sinc(x) * sinc(x / SUPPORT) : 0;
}

/**
 * Fixed-point weights for resampling `inSize` pixels to `outSize`: for each
 * output pixel, the first input pixel it reads, how many it reads, and the
 * weights (a row of `width` integers).
 */
function weights(inSize, outSize) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = SUPPORT * filterScale;
  const width = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const fixed = new Int32Array(outSize * width);
  const row = new Float64Array(width);
  for (let o = 0; o < outSize; o++) {
    const centre = (o + 0.5) * scale;
    const inverse = 1 / filterScale;
    const lo = Math.max(0, Math.trunc(centre - support + 0.5));
    const n = Math.min(inSize, Math.trunc(centre + support + 0.5)) - lo;
    let total = 0;
    for (let x = 0; x < n; x++) {
      row[x] = lanczos((x + lo - centre + 0.5) * inverse);
      total += row[x];
    }
    for (let x = 0; x < n; x++) {
      const w = total !== 0 ? row[x] / total : row[x];
      fixed[o * width + x] = Math.trunc(w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
    }
    first[o] = lo;
    count[o] = n;
  }
  return { first, count, fixed, width };
}

function clip8(sum) {
  return Math.min(255, Math.max(0, Math.floor(sum / (1 << PRECISION_BITS))));
}

const HALF = 1 << (PRECISION_BITS - 1);

function horizontalPass(pixels, width, rows, firstRow, outWidth) {
  const h = weights(width, outWidth);
  const out = new Uint8Array(outWidth * rows);
  for (let y = 0; y < rows; y++) {
    const line = (y + firstRow) * width;
    for (let o = 0; o < outWidth; o++) {
      let sum = HALF;
      const base = o * h.width;
      const lo = line + h.first[o];
      for (let x = 0; x < h.count[o]; x++) sum += pixels[lo + x] * h.fixed[base + x];
      out[y * outWidth + o] = clip8(sum);
    }
  }
  return out;
}

function verticalPass(pixels, width, v, rowOffset, outHeight) {
  const out = new Uint8Array(width * outHeight);
  for (let o = 0; o < outHeight; o++) {
    const base = o * v.width;
    const lo = v.first[o] - rowOffset;
    for (let x = 0; x < width; x++) {
      let sum = HALF;
      for (let y = 0; y < v.count[o]; y++) sum += pixels[(lo + y) * width + x] * v.fixed[base + y];
      out[o * width + x] = clip8(sum);
    }
  }
  return out;
}

/**
 * Pillow's LANCZOS resize of an 8-bit greyscale image. Pillow 13 resamples
 * vertically first when the height shrinks by more than twice as many pixels
 * as the width (fewer rows to filter); the order changes the rounding, so it is
 * followed here. Otherwise horizontally first, and then only the rows the
 * vertical pass reads.
 */
export function resize(pixels, width, height, outWidth, outHeight) {
  const horizontal = outWidth !== width;
  const vertical = outHeight !== height;
  if (!horizontal && !vertical) return Uint8Array.from(pixels);
  const v = vertical ? weights(height, outHeight) : null;
  if (vertical && height >= outHeight && height - outHeight > (width - outWidth) * 2) {
    const tall = verticalPass(pixels, width, v, 0, outHeight);
    return horizontal ? horizontalPass(tall, width, outHeight, 0, outWidth) : tall;
  }
  if (!vertical) return horizontalPass(pixels, width, height, 0, outWidth);
  const top = v.first[0];
  const bottom = v.first[outHeight - 1] + v.count[outHeight - 1];
  const wide = horizontal ? horizontalPass(pixels, width, bottom - top, top, outWidth) : pixels;
  return verticalPass(wide, outWidth, v, horizontal ? top : 0, outHeight);
}

// --- pocketfft's real DCT-II, for length 32 ------------------------------

/**
 * cos and sin of m pi / 64, m = 0..16, as glibc rounds them (pocketfft calls
 * the C library). Browsers' Math.cos is not always correctly rounded: V8's
 * cos(15 pi / 64) is one unit in the last place off, which moves DCT
 * coefficients 1, 15, 17 and 31 and, on flat images, pHash bits.
 */
const FIRST_OCTANT = [
  [1.0, 0.0],
  [0.9987954562051724, 0.049067674327418015],
  [0.9951847266721969, 0.0980171403295606],
  [0.989176509964781, 0.14673047445536175],
  [0.9807852804032304, 0.19509032201612825],
  [0.970031253194544, 0.24298017990326387],
  [0.9569403357322088, 0.29028467725446233],
  [0.9415440651830208, 0.33688985339222005],
  [0.9238795325112867, 0.3826834323650898],
  [0.9039892931234433, 0.4275550934302821],
  [0.881921264348355, 0.47139673682599764],
  [0.8577286100002721, 0.5141027441932217],
  [0.8314696123025452, 0.5555702330196022],
  [0.8032075314806449, 0.5956993044924334],
  [0.773010453362737, 0.6343932841636455],
  [0.7409511253549591, 0.6715589548470183],
  [0.7071067811865476, 0.7071067811865475],
];

/**
 * cos and sin of 2 pi k / n as pocketfft tabulates them (n = 32 or 128): the
 * first octant by symmetry, then the product of two small tables.
 */
function unitRoots(n) {
  if (n !== 32 && n !== 128) throw new Error("only DCT length 32 is implemented");
  // pocketfft evaluates cos(x pi / 4n) for x a multiple of 8 up to n: m pi / 64 with m = 16 x / n.
  const c = (x) => FIRST_OCTANT[(x * 16) / n][0];
  const s = (x) => FIRST_OCTANT[(x * 16) / n][1];
  const octant = (x) => {
    x *= 8;
    if (x < 4 * n) {
      if (x < 2 * n) return x < n ? [c(x), s(x)] : [s(2 * n - x), c(2 * n - x)];
      x -= 2 * n;
      return x < n ? [-s(x), c(x)] : [-c(2 * n - x), s(2 * n - x)];
    }
    x = 8 * n - x;
    if (x < 2 * n) return x < n ? [c(x), -s(x)] : [s(2 * n - x), -c(2 * n - x)];
    x -= 2 * n;
    return x < n ? [-s(x), -c(x)] : [-c(2 * n - x), -s(2 * n - x)];
  };
  const values = Math.floor((n + 2) / 2);
  let shift = 1;
  while ((1 << shift) * (1 << shift) < values) shift++;
  const mask = (1 << shift) - 1;
  const low = [[1, 0]];
  for (let i = 1; i <= mask; i++) low.push(octant(i));
  const high = [[1, 0]];
  for (let i = 1; i < Math.floor((values + mask) / (mask + 1)); i++) high.push(octant(i * (mask + 1)));
  return (index) => {
    const mirrored = 2 * index > n;
    const k = mirrored ? n - index : index;
    const [ar, ai] = low[k & mask];
    const [br, bi] = high[k >> shift];
    const im = ar * bi + ai * br;
    return [ar * br - ai * bi, mirrored ? -im : im];
  };
}

/** The backward real FFT plan (FFTPACK radix 2 and 4 passes) for length n. */
function realPlan(n) {
  const factors = [];
  let rest = n;
  while (rest % 4 === 0) {
    factors.push(4);
    rest /= 4;
  }
  if (rest % 2 === 0) {
    rest /= 2;
    factors.push(2);
    [factors[0], factors[factors.length - 1]] = [factors[factors.length - 1], factors[0]];
  }
  const root = unitRoots(n);
  const twiddles = [];
  let l1 = 1;
  factors.forEach((ip, k) => {
    const ido = n / (l1 * ip);
    const tw = new Float64Array(Math.max(0, (ip - 1) * (ido - 1)));
    if (k < factors.length - 1) {
      for (let j = 1; j < ip; j++) {
        for (let i = 1; i <= Math.floor((ido - 1) / 2); i++) {
          const [r, im] = root(j * l1 * i);
          tw[(j - 1) * (ido - 1) + 2 * i - 2] = r;
          tw[(j - 1) * (ido - 1) + 2 * i - 1] = im;
        }
      }
    }
    twiddles.push(tw);
    l1 *= ip;
  });
  return { n, factors, twiddles };
}

function backward2(ido, l1, cc, ch, wa) {
  const CC = (a, b, c) => a + ido * (b + 2 * c);
  const CH = (a, b, c) => a + ido * (b + l1 * c);
  for (let k = 0; k < l1; k++) {
    const p = cc[CC(0, 0, k)];
    const q = cc[CC(ido - 1, 1, k)];
    ch[CH(0, k, 0)] = p + q;
    ch[CH(0, k, 1)] = p - q;
  }
  if ((ido & 1) === 0) {
    for (let k = 0; k < l1; k++) {
      ch[CH(ido - 1, k, 0)] = 2 * cc[CC(ido - 1, 0, k)];
      ch[CH(ido - 1, k, 1)] = -2 * cc[CC(0, 1, k)];
    }
  }
  if (ido <= 2) return;
  for (let k = 0; k < l1; k++) {
    for (let i = 2; i < ido; i += 2) {
      const ic = ido - i;
      ch[CH(i - 1, k, 0)] = cc[CC(i - 1, 0, k)] + cc[CC(ic - 1, 1, k)];
      const tr2 = cc[CC(i - 1, 0, k)] - cc[CC(ic - 1, 1, k)];
      const ti2 = cc[CC(i, 0, k)] + cc[CC(ic, 1, k)];
      ch[CH(i, k, 0)] = cc[CC(i, 0, k)] - cc[CC(ic, 1, k)];
      const wr = wa[i - 2];
      const wi = wa[i - 1];
      ch[CH(i, k, 1)] = wr * ti2 + wi * tr2;
      ch[CH(i - 1, k, 1)] = wr * tr2 - wi * ti2;
    }
  }
}

function backward4(ido, l1, cc, ch, wa) {
  const CC = (a, b, c) => a + ido * (b + 4 * c);
  const CH = (a, b, c) => a + ido * (b + l1 * c);
  const WA = (x, i) => wa[i + x * (ido - 1)];
  for (let k = 0; k < l1; k++) {
    const a = cc[CC(0, 0, k)];
    const b = cc[CC(ido - 1, 3, k)];
    const tr2 = a + b;
    const tr1 = a - b;
    const tr3 = 2 * cc[CC(ido - 1, 1, k)];
    const tr4 = 2 * cc[CC(0, 2, k)];
    ch[CH(0, k, 0)] = tr2 + tr3;
    ch[CH(0, k, 2)] = tr2 - tr3;
    ch[CH(0, k, 3)] = tr1 + tr4;
    ch[CH(0, k, 1)] = tr1 - tr4;
  }
  if ((ido & 1) === 0) {
    for (let k = 0; k < l1; k++) {
      const ti1 = cc[CC(0, 3, k)] + cc[CC(0, 1, k)];
      const ti2 = cc[CC(0, 3, k)] - cc[CC(0, 1, k)];
      const tr2 = cc[CC(ido - 1, 0, k)] + cc[CC(ido - 1, 2, k)];
      const tr1 = cc[CC(ido - 1, 0, k)] - cc[CC(ido - 1, 2, k)];
      ch[CH(ido - 1, k, 0)] = tr2 + tr2;
      ch[CH(ido - 1, k, 1)] = Math.SQRT2 * (tr1 - ti1);
      ch[CH(ido - 1, k, 2)] = ti2 + ti2;
      ch[CH(ido - 1, k, 3)] = -Math.SQRT2 * (tr1 + ti1);
    }
  }
  if (ido <= 2) return;
  for (let k = 0; k < l1; k++) {
    for (let i = 2; i < ido; i += 2) {
      const ic = ido - i;
      const tr2 = cc[CC(i - 1, 0, k)] + cc[CC(ic - 1, 3, k)];
      const tr1 = cc[CC(i - 1, 0, k)] - cc[CC(ic - 1, 3, k)];
      const ti1 = cc[CC(i, 0, k)] + cc[CC(ic, 3, k)];
      const ti2 = cc[CC(i, 0, k)] - cc[CC(ic, 3, k)];
      const tr4 = cc[CC(i, 2, k)] + cc[CC(ic, 1, k)];
      const ti3 = cc[CC(i, 2, k)] - cc[CC(ic, 1, k)];
      const tr3 = cc[CC(i - 1, 2, k)] + cc[CC(ic - 1, 1, k)];
      const ti4 = cc[CC(i - 1, 2, k)] - cc[CC(ic - 1, 1, k)];
      ch[CH(i - 1, k, 0)] = tr2 + tr3;
      const cr3 = tr2 - tr3;
      ch[CH(i, k, 0)] = ti2 + ti3;
      const ci3 = ti2 - ti3;
      const cr4 = tr1 + tr4;
      const cr2 = tr1 - tr4;
      const ci2 = ti1 + ti4;
      const ci4 = ti1 - ti4;
      const rotate = (x, ci, cr) => {
        const wr = WA(x, i - 2);
        const wi = WA(x, i - 1);
        ch[CH(i, k, x + 1)] = wr * ci + wi * cr;
        ch[CH(i - 1, k, x + 1)] = wr * cr - wi * ci;
      };
      rotate(0, ci2, cr2);
      rotate(1, ci3, cr3);
      rotate(2, ci4, cr4);
    }
  }
}

/** Half-complex to real, in place, unnormalised. */
function realBackward(plan, c) {
  const { n, factors, twiddles } = plan;
  let p1 = c;
  let p2 = new Float64Array(n);
  let l1 = 1;
  factors.forEach((ip, k) => {
    const ido = n / (ip * l1);
    (ip === 4 ? backward4 : backward2)(ido, l1, p1, p2, twiddles[k]);
    [p1, p2] = [p2, p1];
    l1 *= ip;
  });
  if (p1 !== c) c.set(p1);
}

const dctPlans = new Map();

function dctPlan(n) {
  if (!dctPlans.has(n)) {
    const root = unitRoots(4 * n);
    const twiddle = new Float64Array(n);
    for (let i = 0; i < n; i++) twiddle[i] = root(i + 1)[0];
    dctPlans.set(n, { fft: realPlan(n), twiddle });
  }
  return dctPlans.get(n);
}

/** scipy.fftpack.dct(x) (type II, no normalisation), in place, as pocketfft rounds it. */
export function dct2(c) {
  const n = c.length;
  const { fft, twiddle } = dctPlan(n);
  c[0] *= 2;
  if ((n & 1) === 0) c[n - 1] *= 2;
  for (let k = 1; k < n - 1; k += 2) {
    const t = c[k + 1];
    c[k + 1] = t - c[k];
    c[k] = t + c[k];
  }
  realBackward(fft, c);
  const half = Math.floor((n + 1) / 2);
  for (let k = 1, kc = n - 1; k < half; k++, kc--) {
    const t1 = twiddle[k - 1] * c[kc] + twiddle[kc - 1] * c[k];
    const t2 = twiddle[k - 1] * c[k] - twiddle[kc - 1] * c[kc];
    c[k] = 0.5 * (t1 + t2);
    c[kc] = 0.5 * (t1 - t2);
  }
  if ((n & 1) === 0) c[half] *= twiddle[half - 1];
  return c;
}

// --- the hashes ------------------------------------------------------------------

function bitsHex(bits) {
  let hex = "";
  for (let k = 0; k < bits.length; k += 4) {
    hex += ((bits[k] << 3) | (bits[k + 1] << 2) | (bits[k + 2] << 1) | bits[k + 3]).toString(16);
  }
  return hex;
}

const HASH = 8;
const PHASH_SIDE = HASH * 4;

/** imagehash.phash of a greyscale image (`grey` output). */
export function phashOfGrey(pixels, width, height) {
  const small = resize(pixels, width, height, PHASH_SIDE, PHASH_SIDE);
  const n = PHASH_SIDE;
  const m = new Float64Array(n * n);
  for (let i = 0; i < m.length; i++) m[i] = small[i];
  const line = new Float64Array(n);
  for (let x = 0; x < n; x++) {
    for (let y = 0; y < n; y++) line[y] = m[y * n + x];
    dct2(line);
    for (let y = 0; y < n; y++) m[y * n + x] = line[y];
  }
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) line[x] = m[y * n + x];
    dct2(line);
    for (let x = 0; x < n; x++) m[y * n + x] = line[x];
  }
  const low = new Float64Array(HASH * HASH);
  for (let y = 0; y < HASH; y++) for (let x = 0; x < HASH; x++) low[y * HASH + x] = m[y * n + x];
  const sorted = Float64Array.from(low).sort();
  const median = (sorted[low.length / 2 - 1] + sorted[low.length / 2]) / 2;
  return bitsHex(Array.from(low, (v) => (v > median ? 1 : 0)));
}

/** imagehash.dhash of a greyscale image. */
export function dhashOfGrey(pixels, width, height) {
  const small = resize(pixels, width, height, HASH + 1, HASH);
  const bits = [];
  for (let y = 0; y < HASH; y++) {
    for (let x = 0; x < HASH; x++) bits.push(small[y * (HASH + 1) + x + 1] > small[y * (HASH + 1) + x] ? 1 : 0);
  }
  return bitsHex(bits);
}

/** Both hashes of an RGB(A) image: {phash, dhash}. */
export function phashAndDhash(data, width, height, channels = 4) {
  const pixels = grey(data, width, height, channels);
  return { phash: phashOfGrey(pixels, width, height), dhash: dhashOfGrey(pixels, width, height) };
}
