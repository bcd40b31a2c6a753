"""Bad input gets a clear message and a 400, never a 500, and nothing is half-saved.

The test client re-raises any exception a view lets escape, so a 500 fails
these tests loudly rather than passing as "an error status".
"""

from __future__ import annotations

import html
import importlib
import re
from typing import Any
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.defaultfilters import filesizeformat
from django.test import Client
from django.urls import reverse
from PIL import ImageFile

from cases.models import Case, Event, ReportedURL
from cases.services import MAX_URLS_PER_PASTE
from notices.models import Notice, Platform
from tests.conftest import login

from .conftest import BASIS, row_counts
from .images import bomb_png

JPEG = ("pdq", "bridge-mods", "aaa-orig.jpg")


def _upload(client: Client, case: Case, name: str, data: bytes, content_type: str) -> Any:
    return client.post(
        reverse("cases-add-media", args=[case.reference]),
        {"file": SimpleUploadedFile(name, data, content_type=content_type), "label": "x"},
    )


def _text(response: Any) -> str:
    """The page as a person reads it: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def _textarea(response: Any, name: str = "urls") -> list[str]:
    match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', response.content.decode(), re.S)
    assert match, f"no {name} textarea on the page"
    return [line for line in html.unescape(match.group(1)).splitlines() if line.strip()]


# --- Uploads ---------------------------------------------------------------------


def test_it_refuses_a_file_that_is_not_an_image(case: Case, advocate: Any) -> None:
    before = row_counts()
    response = _upload(login(advocate), case, "notes.txt", b"Dear diary, this is not a photo.\n" * 50, "text/plain")
    assert response.status_code == 400
    assert "not an image we can read" in _text(response)
    assert row_counts() == before


def test_it_refuses_a_truncated_jpeg(case: Case, advocate: Any, vectors: Any) -> None:
    # WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES when imported,
    # which any notice PDF does: the refusal must hold after that too.
    importlib.import_module("weasyprint")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True
    data = vectors.joinpath(*JPEG).read_bytes()
    before = row_counts()
    response = _upload(login(advocate), case, "half.jpg", data[: len(data) // 2], "image/jpeg")
    assert response.status_code == 400
    assert "damaged or incomplete" in _text(response)
    assert row_counts() == before


def test_it_refuses_a_decompression_bomb_without_decoding_it(case: Case, advocate: Any) -> None:
    bomb = bomb_png(20_000, 20_000)
    assert len(bomb) < 1000
    before = row_counts()
    with mock.patch.object(ImageFile.ImageFile, "load", side_effect=AssertionError("pixels were decoded")) as load:
        response = _upload(login(advocate), case, "bomb.png", bomb, "image/png")
    assert response.status_code == 400
    assert "pixels" in _text(response) and "smaller copy" in _text(response)
    assert not load.called
    assert row_counts() == before


def test_it_refuses_an_upload_over_the_size_cap(case: Case, advocate: Any, settings: Any, vectors: Any) -> None:
    settings.UPLOAD_MAX_BYTES = 10_000
    data = vectors.joinpath(*JPEG).read_bytes()[:50_000]
    before = row_counts()
    response = _upload(login(advocate), case, "big.jpg", data, "image/jpeg")
    assert response.status_code == 400
    assert " ".join(f"larger than {filesizeformat(10_000)}".split()) in _text(response)
    assert row_counts() == before


# --- URLs ----------------------------------------------------------------------------


def _paste(client: Client, case: Case, text: str) -> Any:
    return client.post(reverse("cases-add-urls", args=[case.reference]), {"urls": text})


def test_it_refuses_an_address_that_is_not_a_url(case: Case, advocate: Any) -> None:
    before = row_counts()
    response = _paste(login(advocate), case, "not a web address at all")
    assert response.status_code == 400
    assert "not a valid web address" in _text(response)
    assert _textarea(response) == ["not a web address at all"]
    assert row_counts() == before


def test_it_adds_the_good_lines_and_hands_back_the_dangerous_ones_with_reasons(case: Case, advocate: Any) -> None:
    good = ["https://www.reddit.com/r/x/comments/1/", "https://example.com/photo"]
    bad = [
        "javascript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "JavaScript:alert(1)",
    ]
    before = row_counts()
    response = _paste(login(advocate), case, "\n".join([good[0], *bad[:2], good[1], *bad[2:]]))
    assert response.status_code == 200
    assert sorted(case.urls.values_list("url", flat=True)) == sorted(good)
    assert row_counts()["ReportedURL"] == before["ReportedURL"] + 2
    text = _text(response)
    for scheme in ("javascript", "data", "file"):
        assert f"not {scheme}: links" in text
    assert _textarea(response) == bad, "the refused lines must stay in the box, and only they"
    assert b"<script>alert(1)</script>" not in response.content, "a pasted line was echoed unescaped"


def test_it_refuses_a_paste_of_ten_thousand_lines_whole(case: Case, advocate: Any) -> None:
    lines = [f"https://www.reddit.com/r/x/comments/{n}/" for n in range(10_000)]
    before = row_counts()
    response = _paste(login(advocate), case, "\n".join(lines))
    assert response.status_code == 400
    assert f"paste at most {MAX_URLS_PER_PASTE}" in _text(response)
    assert _textarea(response) == lines, "the pasted text must stay in the form"
    assert row_counts() == before


# --- References that do not exist ------------------------------------------------------


def test_a_case_that_does_not_exist_is_a_friendly_404(advocate: Any) -> None:
    client = login(advocate)
    page = client.get(reverse("cases-view-case", args=["RD-0000-0000-0000"]))
    assert page.status_code == 404
    assert "We couldn't find that" in _text(page)
    assert 'id="quick-exit"' in page.content.decode()
    api = client.get(reverse("api-case-detail", args=["RD-0000-0000-0000"]))
    assert api.status_code == 404
    assert api["Content-Type"].startswith("application/json")
    assert api.json() == {"detail": "No case with that reference."}


# --- Double submissions ------------------------------------------------------------------


def _once_token(response: Any) -> str:
    match = re.search(r'name="once" value="([^"]+)"', response.content.decode())
    assert match, "the form carries no once token"
    return match.group(1)


def test_the_open_case_form_posted_twice_opens_one_case(org_a: Any, advocate: Any) -> None:
    client = login(advocate)
    form = client.get(reverse("cases-open-case"))
    data = {
        "organization": org_a.pk,
        "pseudonym": "Twice",
        "country": "US",
        "content_kind": "real",
        "under_18_in_content": "no",
        "once": _once_token(form),
    }
    first = client.post(reverse("cases-open-case"), data)
    second = client.post(reverse("cases-open-case"), data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Case.objects.filter(organization=org_a).count() == 1


def test_the_notice_draft_form_posted_twice_drafts_one_notice(
    case: Case, advocate: Any, reddit: Platform, reported_url: ReportedURL
) -> None:
    client = login(advocate)
    page = client.get(reverse("cases-view-case", args=[case.reference]))
    data = {"platform": reddit.pk, "basis": BASIS, "once": _once_token(page)}
    first = client.post(reverse("notices-create-notice", args=[case.reference]), data)
    second = client.post(reverse("notices-create-notice", args=[case.reference]), data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert case.notices.count() == 1


def test_signing_twice_is_refused_and_leaves_the_signed_notice_as_it_was(
    case: Case, advocate: Any, draft_notice: Notice
) -> None:
    client = login(advocate)
    url = reverse("notices-view-notice", args=[case.reference, draft_notice.pk])
    data = {"full_name": "Alex Advocate", "capacity": "representative", "attest": "on"}
    assert client.post(url, data).status_code == 302
    signed = Notice.objects.get(pk=draft_notice.pk)
    assert signed.pdf_sha256
    again = client.post(url, {**data, "full_name": "Someone Else"})
    assert again.status_code == 400
    assert "already signed" in _text(again)
    after = Notice.objects.get(pk=draft_notice.pk)
    assert (after.pdf_sha256, after.frozen_html, after.signer_name, after.signed_at) == (
        signed.pdf_sha256,
        signed.frozen_html,
        "Alex Advocate",
        signed.signed_at,
    )
    assert Event.objects.filter(case=case, action="notice.signed").count() == 1


# --- The hashes API ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"pdq": "g" * 64}, "pdq must be 64 hex characters"),
        ({"pdq": "f" * 63}, "pdq must be 64 hex characters"),
        ({"sha256": "a" * 65}, "no more than 64 characters"),
        ({"md5": "0" * 31, "sha256": "a" * 64}, "md5 must be 32 hex characters"),
        ({"pdq": "f" * 64, "sha1": "a" * 40}, "sha1"),
        ({"sha1": "a" * 40}, "sha1"),
        ({}, "at least a PDQ or a SHA-256"),
        ({"pdq": "f" * 64, "pdq_quality": 101}, "less than or equal to 100"),
        ([{"pdq": "f" * 64}], "Invalid data"),
        ('"' + "f" * 64 + '"', "Invalid data"),
        ('{"pdq": "f', "JSON parse error"),
    ],
    ids=[
        "bad-hex",
        "short",
        "long",
        "short-md5",
        "unknown-algorithm",
        "only-unknown",
        "none",
        "bad-quality",
        "a-list",
        "a-string",
        "broken-json",
    ],
)
def test_the_hashes_api_refuses_bad_hashes_with_a_message(case: Case, advocate: Any, body: Any, message: str) -> None:
    before = row_counts()
    response = login(advocate).post(
        reverse("api-case-media", args=[case.reference]), body, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json")
    assert message in response.content.decode()
    assert row_counts() == before


# --- The minors path -----------------------------------------------------------------------


def test_a_minor_case_refuses_an_upload(minor_case: Case, advocate: Any, vectors: Any) -> None:
    before = row_counts()
    response = _upload(login(advocate), minor_case, "photo.jpg", vectors.joinpath(*JPEG).read_bytes(), "image/jpeg")
    assert response.status_code == 400
    assert "Take It Down" in _text(response) and "never handles the images" in _text(response)
    assert row_counts() == before


def test_a_minor_case_refuses_to_check_its_urls(
    minor_case: Case, advocate: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ReportedURL.objects.create(case=minor_case, url="https://example.com/a", domain="example.com")
    client = login(advocate)
    with (
        mock.patch("monitoring.tasks.check_url.delay") as delay,
        mock.patch("monitoring.tasks.check_url.apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = client.post(reverse("cases-check-urls", args=[minor_case.reference]), follow=True)
    assert response.status_code == 200
    assert "does not visit these addresses" in _text(response)
    assert callbacks == [] and not delay.called and not apply_async.called
    assert not Event.objects.filter(case=minor_case, action="url.check_requested").exists()


def test_a_minor_case_still_takes_urls_but_queues_no_check(
    minor_case: Case, advocate: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = login(advocate)
    with (
        mock.patch("monitoring.tasks.check_url.delay") as delay,
        mock.patch("monitoring.tasks.check_url.apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        page = _paste(client, minor_case, "https://example.com/a\nhttps://example.com/b")
        api = client.post(
            reverse("api-case-urls", args=[minor_case.reference]),
            {"urls": ["https://example.com/c"]},
            content_type="application/json",
        )
    assert page.status_code == 302 and api.status_code == 201
    assert minor_case.urls.count() == 3
    assert callbacks == [] and not delay.called and not apply_async.called
