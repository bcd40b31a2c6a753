"""The content match: is the survivor's media at this URL?

For a fetched URL this module finds the candidate media (the URL itself when
it is an image or a video; otherwise what the page names, see `pages`),
fetches each through the safe fetcher, hashes it in memory and compares it
with the case's stored hashes. The bytes of a candidate live only inside
`_examine_one`'s frame: what comes out is digests, sizes and distances.

Matching rules (DESIGN.md, Hashing):
- PDQ distance <= 31 between any of the candidate's eight dihedral hashes
  (rotations and mirrors) and a stored PDQ hash is a match, provided both
  hashes are reliable (PDQ quality >= 50); a flat or tiny image can sit
  within 31 bits of another flat one without being the same picture.
- A PDQ distance of 32-50, an unreliable PDQ match, or a pHash distance
  <= 10 (dihedrals too) is a possible match for an advocate to review, never
  an automatic one.
- Video candidates: each reliable frame sampled by `hashing.video.hash_video`
  is compared with the stored PDQ hashes under the same rule. Stored video
  hashes (per-frame vPDQ) have no storage yet, so the engine's `video_match`
  between two videos cannot be applied here until they do.

Absence is judged strictly: "not found" is only reported when every
candidate the page named was examined and each was hashed or definitely not
media (404/410, not an image). Otherwise the result is "inconclusive", which
never marks content as removed.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import imagehash
import numpy as np
import pdqhash
from PIL import Image

from hashing.errors import CorruptMedia, HashingError, MediaTooLarge, UnsupportedMedia
from hashing.image import PDQ_MATCH_THRESHOLD, PDQ_QUALITY_UNRELIABLE, bits_to_hex, canonical_rgb, distance

from .fetcher import FetchFailed, FetchRefused, FetchResult
from .models import Match
from .pages import Candidate, Kind, find_candidates, is_html, kind_of, media_type

# The grey band an advocate reviews (issue 7: "e.g. PDQ 32-50"), and pHash's
# threshold with dihedrals from the robustness benchmark (DESIGN.md).
REVIEW_PDQ_MAX = 50
REVIEW_PHASH_MAX = 10

_DIHEDRAL = (
    None,
    Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_180,
    Image.Transpose.ROTATE_270,
    Image.Transpose.FLIP_LEFT_RIGHT,
    Image.Transpose.FLIP_TOP_BOTTOM,
    Image.Transpose.TRANSPOSE,
    Image.Transpose.TRANSVERSE,
)
_PHASH_SIZE = 32  # imagehash.phash's working size (hash_size 8 x highfreq_factor 4)
_MAX_URL = 2048


# --- What the case holds -------------------------------------------------------


@dataclass(frozen=True)
class ReferenceHash:
    media_id: int
    value: str
    quality: int | None = None  # PDQ's quality; None when the client did not send it

    @property
    def reliable(self) -> bool:
        return self.quality is None or self.quality >= PDQ_QUALITY_UNRELIABLE


@dataclass(frozen=True)
class References:
    """The case's stored hashes that a candidate is compared with."""

    pdq: tuple[ReferenceHash, ...] = ()
    phash: tuple[ReferenceHash, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.pdq and not self.phash


# --- What a candidate looks like ---------------------------------------------------


@dataclass(frozen=True)
class Fingerprint:
    """The hashes of one candidate: eight dihedral PDQ/pHash for an image, one PDQ per kept frame for a video."""

    pdq: tuple[str, ...]
    pdq_quality: int
    phash: tuple[str, ...] = ()


def image_fingerprint(data: bytes, *, max_pixels: int) -> Fingerprint:
    """Hash an image's bytes in memory: one reduced-scale decode serves all sixteen hashes.

    `hashing.image.hash_image` would decode once for its hashes and the
    dihedrals would need a second decode; here the canonical RGB image
    (draft-mode JPEG, EXIF orientation, transparency over white, refusing
    bombs before decoding) is decoded once. pHash works on a 32x32 greyscale
    copy, which transposes exactly like the full image, so its eight
    dihedrals cost eight tiny DCTs.
    """
    rgb = canonical_rgb(data, max_pixels=max_pixels, fast=True)
    hashes, quality = pdqhash.compute_dihedral(np.asarray(rgb, dtype=np.uint8))
    small = rgb.convert("L").resize((_PHASH_SIZE, _PHASH_SIZE), Image.Resampling.LANCZOS)
    phashes = tuple(str(imagehash.phash(small if op is None else small.transpose(op))) for op in _DIHEDRAL)
    return Fingerprint(pdq=tuple(bits_to_hex(h) for h in hashes), pdq_quality=int(quality), phash=phashes)


def video_fingerprint(data: bytes, *, max_pixels: int) -> Fingerprint | None:
    """Hash a video's bytes in memory with the hashing engine; None when the engine has no video support here.

    Only reliable frames count (vPDQ's rule): black frames and fades of
    unrelated videos look alike.
    """
    try:
        from hashing.video import hash_video
    except ImportError:  # the video engine (PyAV) is optional until it ships everywhere
        return None
    video = hash_video(io.BytesIO(data), max_pixels=max_pixels)
    frames = [f for f in video.frames if f.pdq_quality >= PDQ_QUALITY_UNRELIABLE]
    return Fingerprint(pdq=tuple(f.pdq for f in frames), pdq_quality=max((f.pdq_quality for f in frames), default=0))


@dataclass(frozen=True)
class Comparison:
    """The closest stored hash to a candidate under one algorithm."""

    algorithm: str  # "pdq" or "phash"
    distance: int
    media_id: int
    reliable: bool = True

    @property
    def verdict(self) -> Match:
        if self.algorithm == "pdq":
            if self.distance <= PDQ_MATCH_THRESHOLD and self.reliable:
                return Match.MATCHED
            return Match.REVIEW if self.distance <= REVIEW_PDQ_MAX else Match.NOT_FOUND
        return Match.REVIEW if self.distance <= REVIEW_PHASH_MAX else Match.NOT_FOUND


def closest(
    candidates: Sequence[str], references: Sequence[ReferenceHash], algorithm: str, quality: int
) -> Comparison | None:
    """The best comparison of any of a candidate's hashes with any stored hash: a match before a closer non-match.

    A reliable PDQ hash at 28 bits beats an unreliable one at 20: only the
    first may decide a match on its own.
    """
    best: Comparison | None = None
    for reference in references:
        reliable = algorithm != "pdq" or (reference.reliable and quality >= PDQ_QUALITY_UNRELIABLE)
        d = min(distance(value, reference.value) for value in candidates) if candidates else None
        if d is None:
            continue
        comparison = Comparison(algorithm, d, reference.media_id, reliable)
        if best is None or _rank(comparison) < _rank(best):
            best = comparison
    return best


_VERDICT_RANK = {Match.MATCHED: 0, Match.REVIEW: 1, Match.NOT_FOUND: 2}


def _rank(comparison: Comparison) -> tuple[int, bool, int]:
    """Order comparisons by what they prove: a match, then a review; PDQ before pHash; then distance."""
    return (_VERDICT_RANK[comparison.verdict], comparison.algorithm != "pdq", comparison.distance)


@dataclass(frozen=True)
class Comparisons:
    """One candidate against the case: the comparison the verdict rests on, and the closest of each kind."""

    decisive: Comparison | None
    pdq: Comparison | None
    phash: Comparison | None


def compare(fingerprint: Fingerprint, references: References) -> Comparisons:
    """PDQ decides a match or a grey-band review; pHash can only raise a review, when PDQ says less."""
    pdq = closest(fingerprint.pdq, references.pdq, "pdq", fingerprint.pdq_quality)
    phash = closest(fingerprint.phash, references.phash, "phash", fingerprint.pdq_quality)
    options = [c for c in (pdq, phash) if c is not None]
    return Comparisons(decisive=min(options, key=_rank) if options else None, pdq=pdq, phash=phash)


# --- Examining candidates --------------------------------------------------------------


class CandidateOutcome(StrEnum):
    """What became of one candidate. Only the first three are conclusive about absence."""

    HASHED = "hashed"
    GONE = "gone"  # 404 or 410: the media is not served at this address
    NOT_MEDIA = "not_media"  # served in full, but not an image or video we can read
    TOO_LARGE = "too_large"  # over the byte cap or the pixel cap (decompression bombs)
    CORRUPT = "corrupt"  # a damaged or cut-off file
    REFUSED = "refused"  # the safe fetcher would not fetch it (address, scheme)
    ERROR = "error"  # no answer, or an HTTP error other than 404/410
    NOT_HASHED = "not_hashed"  # a video, and video hashing is not available here


CONCLUSIVE = frozenset({CandidateOutcome.HASHED, CandidateOutcome.GONE, CandidateOutcome.NOT_MEDIA})


@dataclass(frozen=True)
class Limits:
    max_candidates: int = 20
    max_pixels: int = 64_000_000
    max_seconds: float = 120.0


# (url, seconds left for this fetch) -> the fetched response.
CandidateFetcher = Callable[[str, float], FetchResult]


@dataclass
class Examination:
    """Everything the check row records about the content; digests and numbers only."""

    match: Match
    decisive: Comparison | None = None
    found: int = 0
    examined: int = 0
    failed: int = 0
    candidates: list[dict[str, Any]] = field(default_factory=list)
    conclusive: bool = False
    stopped: str = ""  # why examination stopped early: "time", "minor_path"


def examine(
    page: FetchResult,
    references: References,
    *,
    fetch_candidate: CandidateFetcher,
    limits: Limits,
    allowed: Callable[[], bool] = lambda: True,
) -> Examination:
    """Find, fetch, hash and compare the media of a fetched URL.

    1. If the response is itself an image or a video, it is the only
       candidate and its bytes are already here (no second request).
    2. If it is an HTML page, take the first `max_candidates` candidates it
       names. Anything else (text, JSON, a PDF) names no media.
    3. A case without hashes has nothing to compare: record how many
       candidates there were and fetch none of them.
    4. Examine the candidates in turn while time is left and `allowed()`
       still says yes (the case may move to the minors path meanwhile).
    5. The verdict is the best candidate's; absence is conclusive only when
       nothing was left unexamined and no candidate failed inconclusively.
    """
    started = time.monotonic()
    kind = kind_of(page.content_type)
    if kind is None and media_type(page.content_type) in _UNTYPED:
        kind = _sniff(page.body)
    if kind is not None:
        if references.empty:
            return Examination(match=Match.NO_HASHES, found=1)
        one = _examine_one(Candidate(url=page.final_url, kind=kind, source="url"), limits, references, page=page)
        return _conclude([one], found=1, complete=True, stopped="")
    if not (is_html(page.content_type) or _looks_like_html(page.body)):
        return Examination(match=Match.NO_HASHES if references.empty else Match.NOT_FOUND, conclusive=True)
    named = find_candidates(page.body, page.content_type, page.final_url, keep=limits.max_candidates)
    if references.empty:
        return Examination(match=Match.NO_HASHES, found=named.found)
    examined: list[_Examined] = []
    stopped = ""
    for candidate in named.candidates:
        left = limits.max_seconds - (time.monotonic() - started)
        if left <= 0:
            stopped = "time"
            break
        if not allowed():
            stopped = "minor_path"
            break
        examined.append(_examine_one(candidate, limits, references, fetch=fetch_candidate, seconds=left))
    complete = not page.truncated and not stopped and len(examined) == named.found
    return _conclude(examined, found=named.found, complete=complete, stopped=stopped)


@dataclass(frozen=True)
class _Examined:
    report: dict[str, Any]
    comparisons: Comparisons | None = None


def _conclude(examined: list[_Examined], *, found: int, complete: bool, stopped: str) -> Examination:
    decisive: Comparison | None = None
    closest_pdq: Comparison | None = None
    for one in examined:
        if one.comparisons is None:
            continue
        pdq, best = one.comparisons.pdq, one.comparisons.decisive
        if pdq is not None and (closest_pdq is None or pdq.distance < closest_pdq.distance):
            closest_pdq = pdq
        if best is not None and (decisive is None or _rank(best) < _rank(decisive)):
            decisive = best
    reports = [one.report for one in examined]
    conclusive = complete and all(r["outcome"] in CONCLUSIVE for r in reports)
    verdict = decisive.verdict if decisive is not None else Match.NOT_FOUND
    if verdict == Match.NOT_FOUND:
        verdict = Match.NOT_FOUND if conclusive else Match.INCONCLUSIVE
        # Without a match, the record still shows how close the nearest PDQ came.
        decisive = closest_pdq
    return Examination(
        match=verdict,
        decisive=decisive,
        found=found,
        examined=len(reports),
        failed=sum(1 for r in reports if r["outcome"] != CandidateOutcome.HASHED),
        candidates=reports,
        conclusive=conclusive,
        stopped=stopped,
    )


def _examine_one(
    candidate: Candidate,
    limits: Limits,
    references: References,
    *,
    page: FetchResult | None = None,
    fetch: CandidateFetcher | None = None,
    seconds: float = 0.0,
) -> _Examined:
    """Fetch (unless `page` already holds it), hash and compare one candidate; its bytes end here.

    Every failure is this candidate's outcome, never the check's: a broken
    thumbnail must not hide the match in the next one.
    """
    report: dict[str, Any] = {
        "url": candidate.url[:_MAX_URL],
        "source": candidate.source,
        "kind": str(candidate.kind),
        "outcome": "",
        "http_status": None,
        "bytes": 0,
        "sha256": "",
        "pdq_distance": None,
        "phash_distance": None,
        "verdict": "",
        "media_id": None,
        "error": "",
    }

    def failed(outcome: CandidateOutcome, error: str = "") -> _Examined:
        report.update(outcome=str(outcome), error=error)
        return _Examined(report)

    if page is None:
        if candidate.kind == Kind.VIDEO and not video_supported():
            # Not even fetched: bytes we cannot hash are not worth the site's bandwidth.
            return failed(CandidateOutcome.NOT_HASHED, VIDEO_NOT_HASHED)
        assert fetch is not None
        try:
            result = fetch(candidate.url, seconds)
        except FetchFailed as exc:
            refused = isinstance(exc, FetchRefused)
            return failed(CandidateOutcome.REFUSED if refused else CandidateOutcome.ERROR, exc.code)
    else:
        result = page
    report.update(http_status=result.status, bytes=result.bytes_read, sha256=hashlib.sha256(result.body).hexdigest())
    if result.status in (404, 410):
        return failed(CandidateOutcome.GONE)
    if not 200 <= result.status < 300:
        return failed(CandidateOutcome.ERROR, f"http_{result.status}")
    if result.truncated:
        return failed(CandidateOutcome.TOO_LARGE, "bytes")
    kind = kind_of(result.content_type) or candidate.kind
    fingerprint: Fingerprint | None
    try:
        if kind == Kind.VIDEO:
            fingerprint = video_fingerprint(result.body, max_pixels=limits.max_pixels)
        else:
            fingerprint = image_fingerprint(result.body, max_pixels=limits.max_pixels)
    except MediaTooLarge:
        return failed(CandidateOutcome.TOO_LARGE, "pixels")
    except UnsupportedMedia:
        return failed(CandidateOutcome.NOT_MEDIA)
    except CorruptMedia:
        return failed(CandidateOutcome.CORRUPT)
    except (HashingError, ValueError, OSError) as exc:  # a decoder's own failure
        return failed(CandidateOutcome.CORRUPT, type(exc).__name__)
    finally:
        del result  # nothing past this point can reach the candidate's bytes
    if fingerprint is None:
        return failed(CandidateOutcome.NOT_HASHED, VIDEO_NOT_HASHED)
    comparisons = compare(fingerprint, references)
    decisive = comparisons.decisive
    report.update(
        outcome=str(CandidateOutcome.HASHED),
        pdq_distance=comparisons.pdq.distance if comparisons.pdq else None,
        phash_distance=comparisons.phash.distance if comparisons.phash else None,
        verdict=str(decisive.verdict) if decisive else str(Match.NOT_FOUND),
        media_id=decisive.media_id if decisive and decisive.verdict != Match.NOT_FOUND else None,
    )
    return _Examined(report, comparisons)


VIDEO_NOT_HASHED = "video candidates not yet hashed"


def video_supported() -> bool:
    """Whether the hashing engine's video support (hashing.video, PyAV) is importable here."""
    try:
        import hashing.video  # noqa: F401
    except ImportError:
        return False
    return True


# Responses that do not say what they are; file hosts often serve images this way.
_UNTYPED = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")


def _sniff(body: bytes) -> Kind | None:
    if body.startswith(_IMAGE_MAGIC) or (body[:4] == b"RIFF" and body[8:12] == b"WEBP"):
        return Kind.IMAGE
    return None


def _looks_like_html(body: bytes) -> bool:
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))
