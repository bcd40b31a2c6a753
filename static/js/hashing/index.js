/**
 * Hash a photo on this device: `await hashFile(file, {onProgress, signal})`.
 *
 * Resolves to {kind, pdq, pdqQuality, phash, dhash, md5, sha256, frames}
 * (hex strings; `frames` is for videos and empty for images), the same values
 * the server would compute (hashing/image.py). The work happens in a Web
 * Worker; the file's bytes never leave it.
 *
 * Rejects with a HashingError (`code`: "undecodable", "too-large", "empty",
 * "video", "failed"; `message`: what happened and what else to try), or with
 * an AbortError DOMException when `signal` aborts.
 */

export class HashingError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "HashingError";
    this.code = code;
  }
}

const VIDEO = /^video\//;

export function hashFile(file, { onProgress, signal } = {}) {
  if (signal?.aborted) return Promise.reject(new DOMException("Hashing was cancelled.", "AbortError"));
  if (VIDEO.test(file.type)) {
    return Promise.reject(
      new HashingError(
        "video",
        "Videos cannot be fingerprinted in the browser yet. Your advocate can help you with a video.",
      ),
    );
  }
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    const finish = () => {
      worker.terminate();
      signal?.removeEventListener("abort", abort);
    };
    const abort = () => {
      finish();
      reject(new DOMException("Hashing was cancelled.", "AbortError"));
    };
    signal?.addEventListener("abort", abort, { once: true });
    worker.onmessage = ({ data }) => {
      if (data.type === "progress") {
        onProgress?.({ stage: data.stage, fraction: data.fraction });
      } else if (data.type === "done") {
        finish();
        resolve(data.result);
      } else {
        finish();
        reject(new HashingError(data.code, data.message));
      }
    };
    worker.onerror = (event) => {
      event.preventDefault();
      finish();
      reject(new HashingError("failed", `This browser could not run the hasher (${event.message || "worker error"}).`));
    };
    worker.postMessage({ file });
  });
}
