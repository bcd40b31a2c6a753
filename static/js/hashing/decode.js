/**
 * The canonical decode (DESIGN.md, "Hashing") in the browser, for a Web Worker:
 * the same pixels the server would hash, as nearly as the browser's own image
 * decoders allow.
 *
 * 1. Decode with createImageBitmap: EXIF orientation applied, first frame of
 *    an animation. No colour-profile conversion, because the server (Pillow)
 *    does none either: both hash the stored RGB values.
 * 2. Refuse images over the server's pixel limit (hashing.image.DEFAULT_MAX_PIXELS).
 * 3. JPEGs only: shrink as Pillow's draft mode does on the server (by 2, 4 or 8,
 *    keeping both sides at least 512 px), so both hash nearly the same pixels
 *    and the hashing stays fast.
 * 4. Draw onto a white canvas (transparency over white) and read 8-bit RGBA.
 */

export const MAX_PIXELS = 64_000_000;
const DRAFT_SIDE = 512;

/** A file this browser cannot turn into pixels, with the reason in plain words. */
export class DecodeError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "DecodeError";
    this.code = code;
  }
}

/** Pillow's JPEG draft scale for a (512, 512) request: 8, 4, 2 or 1. */
export function draftScale(width, height) {
  const fit = Math.min(Math.floor(width / DRAFT_SIDE), Math.floor(height / DRAFT_SIDE));
  return [8, 4, 2].find((scale) => fit >= scale) ?? 1;
}

/** What the first bytes say the file is (the browser's MIME type is only the extension). */
export function sniff(head) {
  const starts = (...bytes) => bytes.every((b, i) => head[i] === b);
  const text = (offset, s) => [...s].every((c, i) => head[offset + i] === c.charCodeAt(0));
  if (starts(0xff, 0xd8, 0xff)) return "jpeg";
  if (starts(0x89, 0x50, 0x4e, 0x47)) return "png";
  if (text(0, "GIF8")) return "gif";
  if (text(0, "RIFF") && text(8, "WEBP")) return "webp";
  if (text(4, "ftyp")) {
    const brand = String.fromCharCode(...head.slice(8, 12));
    if (/^(heic|heix|heim|heis|hevc|hevx|mif1|msf1)$/.test(brand)) return "heic";
    if (/^(avif|avis)$/.test(brand)) return "avif";
    return "video";
  }
  if (starts(0x1a, 0x45, 0xdf, 0xa3)) return "video"; // Matroska / WebM
  if (text(0, "BM")) return "bmp";
  if (starts(0x49, 0x49, 0x2a, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2a)) return "tiff";
  return "unknown";
}

const UNREADABLE = {
  heic:
    "This is an iPhone-style HEIC photo, which this browser cannot open yet. Export it as JPEG " +
    "(on an iPhone: Settings > Camera > Formats > Most Compatible, or share it as JPEG) and choose that copy.",
  tiff: "This is a TIFF image, which browsers cannot open. Save it as JPEG or PNG and choose that copy.",
  video: "This looks like a video. Videos cannot be fingerprinted in the browser yet.",
  unknown: "This file is not an image this browser can open (JPEG, PNG, GIF, WebP, AVIF, BMP).",
};

/**
 * Decode `file` to {data: RGBA bytes, width, height, format}.
 * Throws DecodeError with a reason a person can act on.
 */
export async function decodeImage(file, { maxPixels = MAX_PIXELS } = {}) {
  if (file.size === 0) throw new DecodeError("empty", "The file is empty.");
  const format = sniff(new Uint8Array(await file.slice(0, 16).arrayBuffer()));
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image", colorSpaceConversion: "none" });
  } catch {
    const reason =
      UNREADABLE[format] ??
      "This browser could not open this image: it may be damaged or incomplete (not fully downloaded).";
    throw new DecodeError("undecodable", reason);
  }
  try {
    const { width, height } = bitmap;
    if (width * height > maxPixels) {
      throw new DecodeError(
        "too-large",
        `This image is ${width}x${height} pixels, more than the ${maxPixels.toLocaleString("en")} we open safely. ` +
          "Try a smaller copy of it.",
      );
    }
    const scale = format === "jpeg" ? draftScale(width, height) : 1;
    const w = Math.ceil(width / scale);
    const h = Math.ceil(height / scale);
    const canvas = new OffscreenCanvas(w, h);
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, w, h);
    context.imageSmoothingEnabled = true;
    context.imageSmoothingQuality = "high";
    context.drawImage(bitmap, 0, 0, w, h);
    return { data: context.getImageData(0, 0, w, h).data, width: w, height: h, format };
  } finally {
    bitmap.close();
  }
}
