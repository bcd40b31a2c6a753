/**
 * The "fingerprint on this device" panel of the case page
 * (templates/cases/snippets/local_hashing.html).
 *
 * Files come from the pickers or a drop (folders included); each is hashed
 * in a Web Worker (index.js), one at a time, and only the hashes are POSTed
 * to the case's media API. The file name is shown on this screen only; the
 * label sent is what the person typed, or nothing.
 */

import { HashingError, hashFile } from "./index.js";

// hashing.image.PDQ_QUALITY_UNRELIABLE: below this PDQ does not match reliably.
const LOW_QUALITY = 50;
const ELSEWHERE =
  "Other ways: export it as a JPEG and choose that copy, or ask your advocate to fingerprint it with you.";

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

/** Files in a drop, walking dropped folders (entries must be taken during the event). */
function droppedFiles(event) {
  const entries = [...event.dataTransfer.items].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
  if (!entries.length) return Promise.resolve([...event.dataTransfer.files]);
  const files = [];
  const walk = async (entry) => {
    if (entry.isFile) {
      files.push(await new Promise((resolve, reject) => entry.file(resolve, reject)));
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (!batch.length) break;
        for (const child of batch) await walk(child);
      }
    }
  };
  return entries.reduce((done, entry) => done.then(() => walk(entry)), Promise.resolve()).then(() => files);
}

/** A folder holds other things too (.DS_Store, documents): keep what looks like a photo or video. */
function looksLikeMedia(file) {
  return /^(image|video)\//.test(file.type) || /\.(heic|heif|avif|jpe?g|png|gif|webp)$/i.test(file.name);
}

class Row {
  constructor(list, file) {
    this.item = element("li", { class: "local-hashing-file" });
    this.item.append(element("strong", {}, file.name || "Unnamed file"), " ");
    this.bar = element("progress", { max: "1", value: "0", "aria-label": `Progress for ${file.name}` });
    this.status = element("span", { class: "status" }, "Waiting…");
    this.detail = element("span", { class: "helptext" });
    this.item.append(this.bar, " ", this.status, this.detail);
    list.append(this.item);
  }

  progress(fraction, stage) {
    this.bar.value = fraction;
    this.status.textContent = { decoding: "Opening…", hashing: "Fingerprinting…", reading: "Fingerprinting…" }[stage];
  }

  finish(outcome, text, detail = "") {
    this.item.dataset.outcome = outcome;
    this.bar.value = 1;
    this.status.textContent = text;
    this.detail.textContent = detail;
  }
}

function setUp(root) {
  const find = (selector) => root.querySelector(selector);
  const api = root.dataset.api;
  const token = find("input[name=csrfmiddlewaretoken]").value;
  const label = find("[data-label]");
  const overall = find("[data-overall]");
  const summary = find("[data-summary]");
  const cancel = find("[data-cancel]");
  const list = find("[data-results]");
  const queue = [];
  let controller = null;
  let total = 0;
  let finished = 0;
  let saved = 0;

  find("[data-scripted]").hidden = false;

  const showOverall = (current = 0) => {
    overall.value = total ? (finished + current) / total : 0;
    summary.textContent = total ? `${finished} of ${total} done, ${saved} saved.` : "";
  };

  async function save(hashes) {
    const response = await fetch(api, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": token },
      body: JSON.stringify({
        kind: hashes.kind,
        label: label.value.trim(),
        pdq: hashes.pdq,
        pdq_quality: hashes.pdqQuality,
        phash: hashes.phash,
        dhash: hashes.dhash,
        md5: hashes.md5,
        sha256: hashes.sha256,
      }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.detail || `The server did not accept the fingerprints (HTTP ${response.status}).`);
    }
  }

  async function process({ file, row }, signal) {
    let hashes;
    try {
      hashes = await hashFile(file, { signal, onProgress: ({ fraction, stage }) => {
        row.progress(fraction, stage);
        showOverall(fraction);
      } });
    } catch (error) {
      if (error.name === "AbortError") return row.finish("cancelled", "Cancelled: nothing was sent.");
      const reason = error instanceof HashingError ? error.message : String(error);
      return row.finish("undecodable", "Not fingerprinted.", ` ${reason} ${ELSEWHERE}`);
    }
    if (signal.aborted) return row.finish("cancelled", "Cancelled: nothing was sent.");
    row.status.textContent = "Saving the fingerprints…";
    try {
      await save(hashes);
    } catch (error) {
      return row.finish("failed", "Fingerprinted, but not saved.", ` ${error.message} Try again in a moment.`);
    }
    saved++;
    if (hashes.pdqQuality < LOW_QUALITY) {
      return row.finish(
        "low-quality",
        "Saved, but low quality.",
        ` This copy has too little detail to match reliably (quality ${hashes.pdqQuality} of 100). ` +
          "If you have another copy, or a less cropped one, add it too.",
      );
    }
    row.finish("hashed", "Fingerprinted and saved.");
  }

  async function run() {
    if (controller) return; // already working through the queue
    controller = new AbortController();
    cancel.hidden = false;
    while (queue.length) {
      await process(queue.shift(), controller.signal);
      finished++;
      showOverall();
    }
    controller = null;
    cancel.hidden = true;
    if (saved) find("[data-reload]").hidden = false;
  }

  function add(files, { fromFolder = false } = {}) {
    for (const file of files) {
      if (fromFolder && !looksLikeMedia(file)) continue;
      queue.push({ file, row: new Row(list, file) });
      total++;
    }
    showOverall();
    run();
  }

  for (const picker of root.querySelectorAll("input[type=file]")) {
    picker.addEventListener("change", () => {
      add([...picker.files], { fromFolder: picker.hasAttribute("webkitdirectory") });
      picker.value = ""; // the same file may be chosen again later
    });
  }
  cancel.querySelector("button").addEventListener("click", () => {
    for (const job of queue.splice(0)) {
      job.row.finish("cancelled", "Cancelled: nothing was sent.");
      finished++;
    }
    controller?.abort();
    showOverall();
  });
  const drop = find("[data-drop]");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("dragover");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("dragover"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("dragover");
    droppedFiles(event).then((files) => add(files, { fromFolder: true }));
  });
}

for (const root of document.querySelectorAll("[data-local-hashing]")) setUp(root);
