/**
 * The hashing Web Worker: one file in, its hashes out, so the page stays
 * responsive. Started by index.js (one worker per file; cancelling terminates it).
 *
 * Messages out: {type: "progress", stage, fraction} while working, then
 * {type: "done", result} or {type: "error", code, message}.
 *
 * Nothing here sends anything anywhere: the file's bytes stay in this worker.
 */

import { md5 } from "../../vendor/noble-hashes/legacy.js";
import { sha256 } from "../../vendor/noble-hashes/sha2.js";
import { bytesToHex } from "../../vendor/noble-hashes/utils.js";
import { DecodeError, decodeImage } from "./decode.js";
import { pdq } from "./pdq.js";
import { phashAndDhash } from "./phash.js";

// Read in slices so a large file never has to fit in memory at once.
const CHUNK = 4 * 1024 * 1024;
// Share of the progress bar for decoding and perceptual hashing; the rest is reading for MD5/SHA-256.
const DECODE_SHARE = 0.5;

function progress(stage, fraction) {
  self.postMessage({ type: "progress", stage, fraction });
}

async function exactHashes(file, start) {
  const hashes = [md5.create(), sha256.create()];
  for (let offset = 0; offset < file.size; offset += CHUNK) {
    const chunk = new Uint8Array(await file.slice(offset, offset + CHUNK).arrayBuffer());
    for (const h of hashes) h.update(chunk);
    progress("reading", start + (1 - start) * Math.min(1, (offset + CHUNK) / file.size));
  }
  const [m, s] = hashes.map((h) => bytesToHex(h.digest()));
  return { md5: m, sha256: s };
}

async function hashImage(file) {
  progress("decoding", 0);
  const image = await decodeImage(file);
  progress("hashing", DECODE_SHARE * 0.6);
  const { pdq: pdqHex, quality } = pdq(image.data, image.width, image.height, 4);
  const { phash, dhash } = phashAndDhash(image.data, image.width, image.height, 4);
  progress("reading", DECODE_SHARE);
  const exact = await exactHashes(file, DECODE_SHARE);
  return {
    kind: "image",
    pdq: pdqHex,
    pdqQuality: quality,
    phash,
    dhash,
    ...exact,
    frames: [],
    width: image.width,
    height: image.height,
  };
}

self.onmessage = async ({ data }) => {
  try {
    self.postMessage({ type: "done", result: await hashImage(data.file) });
  } catch (error) {
    const known = error instanceof DecodeError;
    self.postMessage({
      type: "error",
      code: known ? error.code : "failed",
      message: known ? error.message : `Hashing failed in this browser: ${error?.message ?? error}`,
    });
  }
};
