"""The content match in a check: candidate media fetched from 127.0.0.1, hashed in memory, compared.

The case holds the hashes of `bridge-mods/aaa-orig.jpg` (added the way an
advocate adds a photo); the local server serves pages embedding altered
copies of it, unrelated images, a decompression bomb and thousands of tags.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from django.db import models
from PIL import Image, ImageFile, ImageOps

from cases.models import Case, ReportedURL
from hashing.image import distance
from hashing.models import Algorithm, Hash, MediaItem, MediaKind, MediaSource
from hashing.services import add_uploaded_media
from monitoring import media, services
from monitoring.fetcher import FetchResult
from monitoring.media import REVIEW_PHASH_MAX, image_fingerprint
from monitoring.models import Match, Outcome, URLCheck
from monitoring.services import check_reported_url
from tests.factories import ReportedURLFactory
from tests.monitoring.doubles import LocalServer, Page
from tests.security.leaks import PhotoFinder, as_bytes, search_database

pytestmark = pytest.mark.django_db

ORIGINAL = "pdq/bridge-mods/aaa-orig.jpg"
UNRELATED = "pdq/reg-test-input/labelme-subset/q0003.jpg"


@pytest.fixture(autouse=True)
def _fetch_settings(loopback_fetch_settings: None) -> None:
    """Every check in this module fetches from the local server."""


@pytest.fixture
def original(vectors: Path) -> bytes:
    return (vectors / ORIGINAL).read_bytes()


@pytest.fixture
def unrelated(vectors: Path) -> bytes:
    return (vectors / UNRELATED).read_bytes()


@pytest.fixture
def photo(case: Case, advocate: Any, original: bytes) -> MediaItem:
    """The survivor's photo, hashed in memory and kept as hashes only."""
    return add_uploaded_media(case, io.BytesIO(original), actor=advocate, label="photo")


def _encode(image: Image.Image, fmt: str = "JPEG", **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _variant(original: bytes, name: str) -> bytes:
    image = Image.open(io.BytesIO(original)).convert("RGB")
    if name == "reencoded":
        return _encode(image, quality=40)
    if name == "resized":
        return _encode(image.resize((image.width // 2, image.height // 2)), quality=90)
    if name == "mirrored":
        return _encode(ImageOps.mirror(image), quality=90)
    if name == "cropped":  # 5% off two sides: PDQ misses it, pHash sees it
        w, h = image.size
        return _encode(image.crop((w // 20, h // 20, w, h)), quality=90)
    raise ValueError(name)


def png_header_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A valid PNG header declaring width x height RGB pixels, with a few rows of data: tiny to send, huge to decode."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\0" * (1 + width * 3) * 4)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def _html(*tags: str) -> bytes:
    return ("<!doctype html><html><head><title>post</title></head><body>" + "".join(tags) + "</body></html>").encode()


def _reported(case: Case, server: LocalServer, path: str) -> ReportedURL:
    return ReportedURLFactory(case=case, url=server.url(path), domain="127.0.0.1")


def _check(url: ReportedURL) -> URLCheck:
    check = check_reported_url(url.pk)
    assert check is not None
    return check


# --- Matches -----------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["reencoded", "resized", "mirrored"])
def test_an_altered_copy_on_a_page_matches_the_case(
    variant: str, case: Case, photo: MediaItem, original: bytes, unrelated: bytes, local_server: LocalServer
) -> None:
    copy = _variant(original, variant)
    page = _html('<img src="/static/logo.jpg">', '<img src="/media/copy.jpg">')
    local_server.pages.update(
        {
            "/post": Page(page),
            "/static/logo.jpg": Page(unrelated, "image/jpeg"),
            "/media/copy.jpg": Page(copy, "image/jpeg"),
        }
    )
    check = _check(_reported(case, local_server, "/post"))

    assert check.outcome == Outcome.REACHABLE
    assert check.match == Match.MATCHED
    assert check.match_media == photo
    assert check.match_algorithm == "pdq"
    assert check.match_distance is not None and check.match_distance <= 31
    assert (check.candidates_found, check.candidates_examined, check.candidates_failed) == (2, 2, 0)
    # The evidence: the page's digest, and each candidate's.
    assert check.content_sha256 == hashlib.sha256(page).hexdigest()
    by_url = {c["url"]: c for c in check.candidates}
    assert by_url[local_server.url("/media/copy.jpg")]["sha256"] == hashlib.sha256(copy).hexdigest()
    assert by_url[local_server.url("/media/copy.jpg")]["verdict"] == "matched"
    assert by_url[local_server.url("/media/copy.jpg")]["media_id"] == photo.pk
    assert by_url[local_server.url("/static/logo.jpg")]["sha256"] == hashlib.sha256(unrelated).hexdigest()
    assert by_url[local_server.url("/static/logo.jpg")]["verdict"] == "not_found"
    assert local_server.paths() == ["/post", "/static/logo.jpg", "/media/copy.jpg"]


def test_a_mirrored_copy_matches_only_through_the_dihedral_hashes(
    case: Case, photo: MediaItem, original: bytes
) -> None:
    stored = Hash.objects.get(media=photo, algorithm=Algorithm.PDQ).value
    fingerprint = image_fingerprint(_variant(original, "mirrored"), max_pixels=64_000_000)
    assert distance(fingerprint.pdq[0], stored) > 31  # as uploaded, the mirror image is far away
    assert min(distance(h, stored) for h in fingerprint.pdq) <= 31


def test_an_unrelated_image_does_not_match(
    case: Case, photo: MediaItem, unrelated: bytes, local_server: LocalServer
) -> None:
    local_server.pages.update({"/post": Page(_html('<img src="/a.jpg">')), "/a.jpg": Page(unrelated, "image/jpeg")})
    check = _check(_reported(case, local_server, "/post"))
    assert check.match == Match.NOT_FOUND
    assert check.match_media is None
    # The closest PDQ distance is still on record, far outside the match threshold.
    assert check.match_algorithm == "pdq"
    assert check.match_distance is not None and check.match_distance > 50
    assert check.candidates[0]["outcome"] == "hashed"


def test_an_image_url_is_its_own_candidate_read_past_the_page_cap(
    case: Case, photo: MediaItem, original: bytes, local_server: LocalServer
) -> None:
    png = _encode(Image.open(io.BytesIO(original)), "PNG")
    assert len(png) > services.LIVENESS_MAX_BYTES  # a page would be cut here; an image is not
    local_server.pages["/i/photo.png"] = Page(png, "image/png")
    check = _check(_reported(case, local_server, "/i/photo.png"))
    assert check.match == Match.MATCHED
    assert check.match_distance == 0
    assert check.bytes_read == len(png)
    assert check.content_sha256 == hashlib.sha256(png).hexdigest()
    assert [c["source"] for c in check.candidates] == ["url"]
    assert check.candidates[0]["sha256"] == check.content_sha256
    assert local_server.paths() == ["/i/photo.png"]  # no second request for the same bytes


def test_an_image_served_as_octet_stream_is_recognised(
    case: Case, photo: MediaItem, original: bytes, local_server: LocalServer
) -> None:
    local_server.pages["/download"] = Page(_variant(original, "reencoded"), "application/octet-stream")
    assert _check(_reported(case, local_server, "/download")).match == Match.MATCHED


def test_a_crop_only_phash_sees_is_for_review_never_a_match(
    case: Case, photo: MediaItem, original: bytes, local_server: LocalServer
) -> None:
    local_server.pages.update(
        {"/post": Page(_html('<img src="/c.jpg">')), "/c.jpg": Page(_variant(original, "cropped"), "image/jpeg")}
    )
    check = _check(_reported(case, local_server, "/post"))
    assert check.match == Match.REVIEW
    assert check.match_algorithm == "phash"
    assert check.match_distance is not None and check.match_distance <= REVIEW_PHASH_MAX
    assert check.match_media == photo
    assert check.candidates[0]["pdq_distance"] > 50


def test_a_featureless_image_is_never_an_automatic_match(case: Case, advocate: Any, local_server: LocalServer) -> None:
    """PDQ quality below 50: even at distance 0 a flat image says too little to act on alone."""
    grey = _encode(Image.new("RGB", (400, 300), (128, 128, 128)), "PNG")
    media_item = add_uploaded_media(case, io.BytesIO(grey), actor=advocate)
    assert Hash.objects.get(media=media_item, algorithm=Algorithm.PDQ).quality < 50
    local_server.pages["/grey.png"] = Page(grey, "image/png")
    check = _check(_reported(case, local_server, "/grey.png"))
    assert check.match == Match.REVIEW
    assert check.match_algorithm == "pdq"
    assert check.match_distance == 0


# --- Candidates that fail, and limits ------------------------------------------------------


def test_a_decompression_bomb_is_refused_without_decoding_and_the_check_completes(
    case: Case, photo: MediaItem, original: bytes, local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[tuple[int, int]] = []
    real_load = ImageFile.ImageFile.load

    def spy(self: ImageFile.ImageFile) -> Any:
        decoded.append(self.size)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    local_server.pages.update(
        {
            "/post": Page(_html('<img src="/bomb.png">', '<img src="/copy.jpg">')),
            "/bomb.png": Page(png_header_bomb(), "image/png"),
            "/copy.jpg": Page(_variant(original, "reencoded"), "image/jpeg"),
        }
    )
    check = _check(_reported(case, local_server, "/post"))

    bomb, copy = check.candidates
    assert (bomb["outcome"], bomb["error"]) == ("too_large", "pixels")
    assert (50_000, 50_000) not in decoded
    assert decoded, "the spy saw no decode at all, so it proves nothing"
    assert copy["outcome"] == "hashed"
    assert check.match == Match.MATCHED
    assert (check.candidates_examined, check.candidates_failed) == (2, 1)


def test_a_page_with_only_a_bomb_is_inconclusive(case: Case, photo: MediaItem, local_server: LocalServer) -> None:
    local_server.pages.update(
        {"/post": Page(_html('<img src="/bomb.png">')), "/bomb.png": Page(png_header_bomb(), "image/png")}
    )
    check = _check(_reported(case, local_server, "/post"))
    assert check.outcome == Outcome.REACHABLE
    assert check.match == Match.INCONCLUSIVE


def test_a_page_of_ten_thousand_images_examines_only_the_cap(
    case: Case, photo: MediaItem, local_server: LocalServer
) -> None:
    page = _html(*(f'<img src="/img/{n}.jpg">' for n in range(10_000)))
    assert len(page) < services.LIVENESS_MAX_BYTES
    local_server.pages["/gallery"] = Page(page)
    check = _check(_reported(case, local_server, "/gallery"))
    assert check.candidates_found == 10_000
    assert check.candidates_examined == services.DEFAULT_MAX_CANDIDATES == 20
    assert len(check.candidates) == 20
    assert local_server.paths() == ["/gallery"] + [f"/img/{n}.jpg" for n in range(20)]
    # 9,980 were never looked at, so "not found" would be a guess.
    assert check.match == Match.INCONCLUSIVE


def test_the_cap_comes_from_settings(case: Case, photo: MediaItem, local_server: LocalServer, settings) -> None:  # type: ignore[no-untyped-def]
    settings.CHECK_MAX_CANDIDATES = 3
    local_server.pages["/gallery"] = Page(_html(*(f'<img src="/img/{n}.jpg">' for n in range(50))))
    check = _check(_reported(case, local_server, "/gallery"))
    assert (check.candidates_found, check.candidates_examined) == (50, 3)
    assert len(local_server.seen) == 4


def test_html_is_parsed_only_up_to_its_cap(case: Case, photo: MediaItem, local_server: LocalServer, settings) -> None:  # type: ignore[no-untyped-def]
    settings.CHECK_MAX_HTML_BYTES = 2_000
    filler = "<p>" + "x" * 3_000 + "</p>"
    local_server.pages["/long"] = Page(_html('<img src="/early.jpg">', filler, '<img src="/late.jpg">'))
    check = _check(_reported(case, local_server, "/long"))
    assert check.bytes_read == 2_000
    assert [c["url"] for c in check.candidates] == [local_server.url("/early.jpg")]
    assert check.match == Match.INCONCLUSIVE  # the rest of the page could have held it


def test_each_failing_candidate_is_counted_and_none_fails_the_check(
    case: Case, photo: MediaItem, original: bytes, local_server: LocalServer, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.FETCH_MAX_BYTES = 600_000
    local_server.pages.update(
        {
            "/post": Page(
                _html(
                    '<img src="http://10.1.2.3/private.jpg">',  # refused before any packet is sent
                    '<img src="/missing.jpg">',  # 404
                    '<img src="/ok">',  # text, not an image
                    '<img src="/big?n=700000">',  # over the byte cap
                    '<img src="/status/503">',  # the image host is down
                    '<img src="/broken.jpg">',  # a cut-off JPEG
                    '<img src="/copy.jpg">',
                )
            ),
            "/broken.jpg": Page(_variant(original, "reencoded")[:5_000], "image/jpeg"),
            "/copy.jpg": Page(_variant(original, "resized"), "image/jpeg"),
        }
    )
    check = _check(_reported(case, local_server, "/post"))
    assert [(c["outcome"], c["error"]) for c in check.candidates] == [
        ("refused", "address"),
        ("gone", ""),
        ("not_media", ""),
        ("too_large", "bytes"),
        ("error", "http_503"),
        ("corrupt", ""),
        ("hashed", ""),
    ]
    assert check.outcome == Outcome.REACHABLE
    assert check.match == Match.MATCHED
    assert (check.candidates_found, check.candidates_examined, check.candidates_failed) == (7, 7, 6)


def test_candidates_stop_when_the_check_runs_out_of_time(
    case: Case, photo: MediaItem, local_server: LocalServer, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.CHECK_MAX_SECONDS = 0.3
    local_server.pages["/post"] = Page(_html('<img src="/slow">', '<img src="/a.jpg">'))
    check = _check(_reported(case, local_server, "/post"))
    assert check.candidates_examined == 1
    assert check.candidates[0]["outcome"] == "error"  # /slow outlasted what was left of the budget
    assert check.match == Match.INCONCLUSIVE


# --- Videos ---------------------------------------------------------------------------------


@pytest.fixture
def video_case(case: Case, vectors: Path) -> tuple[Case, bytes]:
    """A case holding the PDQ of one frame of a video, as a video media item."""
    from hashing.video import hash_video

    clip = (vectors / "video" / "chair-orig-22-sd-bar.mp4").read_bytes()
    frame = next(f for f in hash_video(io.BytesIO(clip)).frames if f.pdq_reliable)
    item = MediaItem.objects.create(case=case, kind=MediaKind.VIDEO, source=MediaSource.BROWSER)
    Hash.objects.create(media=item, algorithm=Algorithm.PDQ, value=frame.pdq, quality=frame.pdq_quality)
    return case, clip


def test_a_video_on_a_page_is_hashed_frame_by_frame(video_case: tuple[Case, bytes], local_server: LocalServer) -> None:
    case, clip = video_case
    local_server.pages.update(
        {
            "/watch": Page(_html('<video><source src="/v/clip.mp4" type="video/mp4"></video>')),
            "/v/clip.mp4": Page(clip, "video/mp4"),
        }
    )
    check = _check(_reported(case, local_server, "/watch"))
    assert check.match == Match.MATCHED
    assert check.candidates[0]["kind"] == "video"
    assert check.candidates[0]["sha256"] == hashlib.sha256(clip).hexdigest()


def test_without_video_hashing_video_candidates_are_recorded_not_fetched(
    video_case: tuple[Case, bytes], local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    case, clip = video_case
    monkeypatch.setattr(media, "video_supported", lambda: False)
    local_server.pages.update(
        {
            "/watch": Page(_html('<video src="/v/clip.mp4"></video>')),
            "/v/clip.mp4": Page(clip, "video/mp4"),
        }
    )
    check = _check(_reported(case, local_server, "/watch"))
    assert check.candidates[0]["outcome"] == "not_hashed"
    assert check.candidates[0]["error"] == "video candidates not yet hashed"
    assert check.match == Match.INCONCLUSIVE
    assert local_server.paths() == ["/watch"]


# --- What is fetched, and what is kept --------------------------------------------------------


def test_a_case_without_hashes_fetches_no_candidates(case: Case, local_server: LocalServer) -> None:
    local_server.pages["/post"] = Page(_html('<img src="/a.jpg">', '<meta property="og:image" content="/b.jpg">'))
    check = _check(_reported(case, local_server, "/post"))
    assert check.match == Match.NO_HASHES
    assert check.candidates_found == 2
    assert check.candidates_examined == 0
    assert local_server.paths() == ["/post"]


def test_a_case_moved_to_the_minors_path_mid_check_fetches_no_candidate_and_keeps_nothing(
    case: Case, photo: MediaItem, original: bytes, local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fetch = services.fetch

    def fetch_then_flag(url: str, **kwargs: Any) -> FetchResult:
        result = real_fetch(url, **kwargs)
        Case.objects.filter(pk=case.pk).update(minor_path=True)
        return result

    monkeypatch.setattr(services, "fetch", fetch_then_flag)
    local_server.pages.update(
        {
            "/post": Page(_html('<img src="/copy.jpg">')),
            "/copy.jpg": Page(_variant(original, "reencoded"), "image/jpeg"),
        }
    )
    assert check_reported_url(_reported(case, local_server, "/post").pk) is None
    assert local_server.paths() == ["/post"]
    assert not URLCheck.objects.exists()


def test_the_check_row_holds_digests_never_bytes(
    case: Case, photo: MediaItem, original: bytes, local_server: LocalServer
) -> None:
    copy = _variant(original, "reencoded")
    png = _encode(Image.open(io.BytesIO(original)), "PNG")
    local_server.pages.update(
        {
            "/post": Page(_html('<img src="/copy.jpg">')),
            "/copy.jpg": Page(copy, "image/jpeg"),
            "/direct.png": Page(png, "image/png"),
        }
    )
    on_page = _check(_reported(case, local_server, "/post"))
    direct = _check(_reported(case, local_server, "/direct.png"))
    assert on_page.match == direct.match == Match.MATCHED

    for served in (copy, png, original):
        finder = PhotoFinder(served)
        for check in (on_page, direct):
            for model_field in URLCheck._meta.concrete_fields:
                value = getattr(check, model_field.attname)
                assert finder.find(as_bytes(value)) is None, f"{model_field.name} holds image bytes"
        assert search_database(finder) == []
    # Nothing on the row is big enough to hold an image, whatever its encoding.
    for check in (on_page, direct):
        assert max(len(as_bytes(getattr(check, f.attname))) for f in URLCheck._meta.concrete_fields) < 4_096
    assert not any(isinstance(f, models.BinaryField) for f in URLCheck._meta.get_fields())


def test_a_bug_in_the_content_match_keeps_the_liveness_evidence(
    case: Case, photo: MediaItem, local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RecursionError("a parser gave up")

    monkeypatch.setattr(services, "examine", broken)
    local_server.pages["/post"] = Page(_html('<img src="/a.jpg">'))
    check = _check(_reported(case, local_server, "/post"))
    assert (check.outcome, check.http_status, check.match) == (Outcome.REACHABLE, 200, Match.INCONCLUSIVE)


def test_a_database_error_in_the_content_match_is_left_to_the_task_to_retry(
    case: Case, photo: MediaItem, local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import OperationalError

    def locked(*args: object, **kwargs: object) -> None:
        raise OperationalError("database is locked")

    monkeypatch.setattr(services, "case_references", locked)
    local_server.pages["/post"] = Page(_html('<img src="/a.jpg">'))
    with pytest.raises(OperationalError):
        check_reported_url(_reported(case, local_server, "/post").pk)
    assert not URLCheck.objects.exists()


def test_media_deleted_during_the_check_is_not_named(
    case: Case, photo: MediaItem, original: bytes, local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_examine = services.examine

    def examine_then_delete(*args: Any, **kwargs: Any) -> Any:
        result = real_examine(*args, **kwargs)
        MediaItem.objects.filter(pk=photo.pk).delete()
        return result

    monkeypatch.setattr(services, "examine", examine_then_delete)
    local_server.pages["/copy.jpg"] = Page(_variant(original, "reencoded"), "image/jpeg")
    check = _check(_reported(case, local_server, "/copy.jpg"))
    assert check.match == Match.MATCHED
    assert check.match_media is None
    assert check.match_distance is not None and check.match_distance <= 31
