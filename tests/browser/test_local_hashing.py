"""The in-browser hasher (static/js/hashing/) against the server's hashing, in real Chromium.

1. Parity: from identical RGB pixels the JavaScript PDQ, pHash and dHash
   equal the Python ones bit for bit: the arrays in tests/vectors/parity.json,
   and the PDQ conformance images as the server decodes them, served raw.
2. Files: the conformance images decoded by Chromium hash within DESIGN.md's
   bounds of the server's hashes of the same files (PDQ within 10 where the
   quality is >= 80, pHash within 4, MD5 and SHA-256 equal), and within 10 of
   Meta's own in-browser build (meta-wasm-expected.csv).
3. The intake panel on the case page stores the browser's hashes and sends
   nothing of the photos; with JavaScript off it says what else works.

The JavaScript modules need no Django, so parts 1 and 2 load them from a
small loopback server that serves static/ and a blank harness page.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import imagehash
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from cases.models import Role
from hashing.image import canonical_rgb, distance, hash_image, pdq_of
from hashing.models import Hash, MediaItem, MediaSource
from tests.factories import MembershipFactory, OrganizationFactory, SurvivorFactory, UserFactory
from tests.security.leaks import PhotoFinder

REPO = Path(__file__).resolve().parents[2]
PARITY = REPO / "tests" / "vectors" / "parity.json"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif"}
PASSWORD = "a long browser passphrase"
EMAIL = "advocate@example.org"
# DESIGN.md, "Conformance".
PDQ_BOUND = 10
PDQ_BOUND_FROM_QUALITY = 80
PHASH_BOUND = 4
NEEDS_JAVASCRIPT = "Fingerprinting on this device needs JavaScript, which is turned off in this browser."

HARNESS = b"""<!doctype html><meta charset="utf-8"><title>Hashing harness</title>
<input type="file" id="files" multiple>"""

# Each runs in the harness page; the modules are imported from static/ as the app serves them.
HASH_ARRAYS = """async (vectors) => {
  const { pdq } = await import("/static/js/hashing/pdq.js");
  const { phashAndDhash } = await import("/static/js/hashing/phash.js");
  const hash = (rgb, width, height) => {
    const p = pdq(rgb, width, height, 3);
    return { pdq: p.pdq, pdq_quality: p.quality, ...phashAndDhash(rgb, width, height, 3) };
  };
  const results = [];
  for (const v of vectors) {
    if (v.rgb) {
      results.push(hash(Uint8Array.from(atob(v.rgb), (c) => c.charCodeAt(0)), v.width, v.height));
    } else {
      const response = await fetch("/rgb/" + encodeURIComponent(v.name));
      const [width, height] = ["X-Width", "X-Height"].map((h) => Number(response.headers.get(h)));
      results.push(hash(new Uint8Array(await response.arrayBuffer()), width, height));
    }
  }
  return results;
}"""

HASH_CHOSEN_FILES = """async () => {
  const { hashFile } = await import("/static/js/hashing/index.js");
  const files = [...document.getElementById("files").files];
  const results = [];
  let next = 0;
  const work = async () => {
    while (next < files.length) {
      const i = next++;
      results[i] = await hashFile(files[i]).catch((e) => ({ error: e.code ?? e.name, message: e.message }));
    }
  };
  await Promise.all([work(), work(), work(), work()]);
  return results;
}"""


def conformance_images(vectors: Path) -> list[Path]:
    return sorted(p for p in (vectors / "pdq").rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


class _HarnessHandler(SimpleHTTPRequestHandler):
    """static/ as the app serves it, the blank harness page, and /rgb/<image>: the server's canonical pixels."""

    vectors: Path

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, directory=str(REPO), **kwargs)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/":
            self._send(HARNESS, "text/html; charset=utf-8")
        elif path.startswith("/rgb/"):
            image = (self.vectors / "pdq" / unquote(path.removeprefix("/rgb/"))).resolve()
            if not image.is_relative_to(self.vectors):
                self.send_error(404)
                return
            rgb = canonical_rgb(image.read_bytes())
            self._send(rgb.tobytes(), "application/octet-stream", {"X-Width": rgb.width, "X-Height": rgb.height})
        elif path.startswith("/static/"):
            super().do_GET()
        else:
            self.send_error(404)

    def _send(self, body: bytes, content_type: str, headers: dict[str, object] | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def harness(chromium: Browser, vectors: Path) -> Iterator[Page]:
    handler = type("Handler", (_HarnessHandler,), {"vectors": vectors.resolve()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    page = chromium.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        yield page
    finally:
        page.close()
        server.shutdown()
        server.server_close()


def python_hashes(rgb: Image.Image) -> dict[str, object]:
    pdq, quality = pdq_of(rgb)
    return {"pdq": pdq, "pdq_quality": quality, "phash": str(imagehash.phash(rgb)), "dhash": str(imagehash.dhash(rgb))}


def test_the_parity_vectors_still_say_what_the_python_side_computes() -> None:
    """If Pillow, imagehash or pdqhash change their output, regenerate with tests/vectors/make_vectors.py."""
    for vector in json.loads(PARITY.read_text())["vectors"]:
        rgb = np.frombuffer(base64.b64decode(vector["rgb"]), np.uint8).reshape(vector["height"], vector["width"], 3)
        stored = {k: vector[k] for k in ("pdq", "pdq_quality", "phash", "dhash")}
        assert python_hashes(Image.fromarray(rgb, "RGB")) == stored, vector["name"]


@pytest.mark.browser
def test_javascript_hashes_equal_pythons_bit_for_bit_from_the_same_pixels(harness: Page, vectors: Path) -> None:
    cases = json.loads(PARITY.read_text())["vectors"]
    # The conformance images at full size, as the server decodes them (canonical_rgb, draft mode for JPEG).
    full = [{"name": str(p.relative_to(vectors / "pdq"))} for p in conformance_images(vectors)]
    for vector in full:
        vector.update(python_hashes(canonical_rgb((vectors / "pdq" / vector["name"]).read_bytes())))
    cases += full
    inputs = [{k: v[k] for k in ("name", "rgb", "width", "height") if k in v} for v in cases]
    results = harness.evaluate(HASH_ARRAYS, inputs)
    expected = [{k: v[k] for k in ("pdq", "pdq_quality", "phash", "dhash")} for v in cases]
    wrong = [(v["name"], want, got) for v, want, got in zip(cases, expected, results, strict=True) if want != got]
    assert wrong == [], f"{len(wrong)} of {len(cases)} differ: {wrong[:5]}"


@pytest.mark.browser
def test_files_decoded_by_chromium_hash_within_the_bounds_of_the_servers_hashes(harness: Page, vectors: Path) -> None:
    images = conformance_images(vectors)
    harness.set_input_files("#files", [str(p) for p in images])
    results = harness.evaluate(HASH_CHOSEN_FILES)
    meta = {
        "/".join(Path(row["FilePath"]).parts[-2:]): row["Hash"]
        for row in csv.DictReader((vectors / "pdq" / "meta-wasm-expected.csv").open())
    }
    report, failures = [], []
    for path, js in zip(images, results, strict=True):
        name = str(path.relative_to(vectors / "pdq"))
        data = path.read_bytes()
        server = hash_image(data)
        assert "error" not in js, f"{name}: {js}"
        exact = (hashlib.md5(data, usedforsecurity=False).hexdigest(), hashlib.sha256(data).hexdigest())
        assert (js["md5"], js["sha256"]) == exact, name
        pdq_d = distance(js["pdq"], server.pdq)
        phash_d = distance(js["phash"], server.phash)
        meta_d = distance(js["pdq"], meta[name]) if name in meta else None
        quality = f"{server.pdq_quality}/{js['pdqQuality']}"
        report.append(f"{name}: pdq {pdq_d} (quality {quality}), phash {phash_d}, meta-wasm {meta_d}")
        if server.pdq_quality >= PDQ_BOUND_FROM_QUALITY and pdq_d > PDQ_BOUND:
            failures.append(f"{name}: PDQ {pdq_d} bits from the server's")
        if phash_d > PHASH_BOUND:
            failures.append(f"{name}: pHash {phash_d} bits from the server's")
        if meta_d is not None and meta_d > PDQ_BOUND:
            failures.append(f"{name}: PDQ {meta_d} bits from meta-wasm-expected.csv")
    print("\n".join(["", "Chromium decode vs server (Hamming distances):", *report]))
    assert len(results) == len(images) and failures == [], failures


# --- the intake panel on the case page ---------------------------------------------


def _sign_in(page: Page, origin: str) -> None:
    page.goto(f"{origin}/accounts/login/")
    page.fill("#id_username", EMAIL)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{origin}/cases/")


def _case_for_an_advocate() -> Any:
    org = OrganizationFactory(name="Org A", slug="org-a")
    MembershipFactory(user=UserFactory(username=EMAIL, password=PASSWORD), organization=org, role=Role.ADVOCATE)
    return SurvivorFactory(case__organization=org).case


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_case_page_stores_the_browsers_hashes_and_sends_nothing_of_the_photos(
    live_server: Any, chromium: Browser, vectors: Path
) -> None:
    case = _case_for_an_advocate()
    origin = live_server.url.rstrip("/")
    photos = [
        vectors / "pdq" / "bridge-mods" / "aaa-orig.jpg",
        vectors / "pdq" / "reg-test-input" / "pen-and-coaster.png",
    ]
    context = chromium.new_context(viewport={"width": 390, "height": 844})  # phone width
    sent: list[tuple[str, str, bytes]] = []
    context.on("request", lambda r: sent.append((r.method, r.url, r.post_data_buffer or b"")))
    page = context.new_page()
    page.set_default_timeout(20_000)
    _sign_in(page, origin)

    page.goto(f"{origin}/cases/{case.reference}/")
    expect(page.locator("[data-local-hashing] [data-scripted]")).to_be_visible()
    page.fill("#local-hashing-label", "two copies")
    page.set_input_files("#local-hashing-files", [str(p) for p in photos])
    rows = page.locator("[data-results] li")
    expect(page.locator("[data-results] li[data-outcome]")).to_have_count(2)
    assert [rows.nth(i).get_attribute("data-outcome") for i in range(2)] == ["hashed", "hashed"], rows.all_inner_texts()
    expect(page.locator("[data-summary]")).to_have_text("2 of 2 done, 2 saved.")
    context.close()

    api = f"{origin}/api/v1/cases/{case.reference}/media/"
    posts = [json.loads(body) for method, url, body in sent if method == "POST" and url == api]
    assert len(posts) == 2 and [m for m, *_ in sent if m != "GET"] == ["POST"] * 3  # sign-in, then the two saves
    items = list(MediaItem.objects.filter(case=case).order_by("created_at", "id"))
    assert [(i.source, i.kind, i.label) for i in items] == [(MediaSource.BROWSER, "image", "two copies")] * 2
    for item, post, photo in zip(items, posts, photos, strict=True):
        stored = {h.algorithm: h.value for h in Hash.objects.filter(media=item)}
        assert stored == {k: post[k] for k in ("pdq", "phash", "dhash", "md5", "sha256")}
        assert Hash.objects.get(media=item, algorithm="pdq").quality == post["pdq_quality"]
        data = photo.read_bytes()
        server = hash_image(data)
        assert (post["md5"], post["sha256"]) == (server.md5, server.sha256)
        assert distance(post["pdq"], server.pdq) <= PDQ_BOUND and distance(post["phash"], server.phash) <= PHASH_BOUND

    # Nothing of either photo left the browser: no 4 KB window of it, raw, hex or base64, in any request.
    for photo in photos:
        finder = PhotoFinder(photo.read_bytes())
        for method, url, body in sent:
            haystack = url.encode() + b"\0" + body
            assert finder.find(haystack) is None, f"{photo.name} found in {method} {url}"
            assert photo.stem.encode() not in haystack, f"the file name went out in {method} {url}"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_panel_explains_each_file_it_could_not_use_and_cancels(
    live_server: Any, chromium: Browser, vectors: Path, tmp_path: Path
) -> None:
    case = _case_for_an_advocate()
    origin = live_server.url.rstrip("/")
    heic = tmp_path / "IMG_0001.HEIC"  # a HEIC header Chromium cannot decode
    heic.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(5000))
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo")
    page = chromium.new_page()
    page.set_default_timeout(20_000)
    _sign_in(page, origin)
    page.goto(f"{origin}/cases/{case.reference}/")

    flat = vectors / "pdq/reg-test-input/labelme-subset/q0003.jpg"  # PDQ quality 3
    page.set_input_files("#local-hashing-files", [str(flat), str(heic), str(notes)])
    outcomes = page.locator("[data-results] li[data-outcome]")
    expect(outcomes).to_have_count(3)
    first = [outcomes.nth(i).get_attribute("data-outcome") for i in range(3)]
    assert first == ["low-quality", "undecodable", "undecodable"]
    expect(outcomes.nth(0)).to_contain_text("too little detail to match reliably")
    expect(outcomes.nth(1)).to_contain_text("HEIC photo, which this browser cannot open yet. Export it as JPEG")
    expect(outcomes.nth(2)).to_contain_text("not an image this browser can open")
    expect(outcomes.nth(2)).to_contain_text("ask your advocate to fingerprint it with you")

    # Cancelling stops the file being hashed and everything queued behind it; nothing of theirs is saved.
    big = sorted((vectors / "pdq/reg-test-input/exif-rotn").glob("*.jpg"))
    page.set_input_files("#local-hashing-files", [str(p) for p in big])
    page.get_by_role("button", name="Cancel").click()
    expect(outcomes).to_have_count(3 + len(big))
    later = [outcomes.nth(i).get_attribute("data-outcome") for i in range(3, 3 + len(big))]
    assert later.count("cancelled") >= len(big) - 1, later
    expect(page.get_by_role("button", name="Cancel")).to_be_hidden()
    assert MediaItem.objects.filter(case=case).count() == 1 + later.count("hashed")
    page.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_without_javascript_the_panel_says_what_else_works(live_server: Any, chromium: Browser) -> None:
    case = _case_for_an_advocate()
    origin = live_server.url.rstrip("/")
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    _sign_in(page, origin)
    page.goto(f"{origin}/cases/{case.reference}/")
    panel = page.locator("[data-local-hashing]")
    # Playwright's text matchers skip <noscript>, so read it and check it is rendered.
    message = panel.locator("noscript strong")
    expect(message).to_be_visible()
    assert message.text_content() == NEEDS_JAVASCRIPT
    alternatives = panel.locator("noscript li").all_text_contents()
    assert "Ask your advocate to fingerprint the photos with you." in alternatives, alternatives
    expect(panel.locator("[data-scripted]")).to_be_hidden()
    # The alternative it points to is there: the server-side form, behind its disclosure (no script needed).
    page.get_by_text("Other way, for advocates").click()
    expect(page.get_by_role("button", name="Fingerprint this photo")).to_be_visible()
    context.close()
