"""TAKE IT DOWN notices: complete by construction, signed, frozen."""

from __future__ import annotations

import base64
import hashlib

import pytest
from django.core.exceptions import ImproperlyConfigured

from cases.errors import CaseError
from cases.models import Event
from notices.catalogue import get_basis, load_catalogue, parse_basis
from notices.models import Notice, Platform
from notices.render import element_texts, missing_elements, render_notice_html, render_notice_text
from notices.services import create_notice, mark_notice_sent, sign_notice
from tests.factories import ReportedURLFactory

BASIS = "us-take-it-down"


@pytest.fixture
def reddit(db) -> Platform:  # type: ignore[no-untyped-def]
    return Platform.objects.get(slug="reddit")


def _notice(case, advocate, reddit, count: int = 1) -> Notice:  # type: ignore[no-untyped-def]
    for n in range(count):
        ReportedURLFactory(case=case, platform=reddit, url=f"https://www.reddit.com/r/x/comments/{n}/")
    return create_notice(case, reddit, BASIS, actor=advocate)


def _sign(notice: Notice, advocate) -> Notice:  # type: ignore[no-untyped-def]
    return sign_notice(notice, actor=advocate, full_name="Alex Advocate", capacity="representative", attested=True)


def test_the_catalogue_lists_the_four_statutory_elements() -> None:
    basis = get_basis(BASIS)
    assert basis.element_ids == ("signature", "identification", "good_faith", "contact")
    assert basis.deadline is not None and basis.deadline.hours == 48
    assert basis.as_of.isoformat() == "2026-11-22"
    assert "223a" in basis.citation


def test_every_basis_file_parses(settings) -> None:  # type: ignore[no-untyped-def]
    assert BASIS in load_catalogue()


def test_a_basis_file_with_a_missing_key_fails_loudly(tmp_path) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "broken.toml"
    broken.write_text('id = "broken"\nname = "x"\n')
    with pytest.raises(ImproperlyConfigured, match="broken.toml"):
        parse_basis(broken)


@pytest.mark.parametrize("count", [1, 200])
def test_a_signed_notice_carries_every_element(case, advocate, reddit, count) -> None:  # type: ignore[no-untyped-def]
    notice = _sign(_notice(case, advocate, reddit, count), advocate)
    texts = element_texts(notice.frozen_html)
    assert missing_elements(get_basis(BASIS), notice.frozen_html) == []
    assert "Signed electronically by /Alex Advocate/" in texts["signature"]
    assert texts["identification"].count("https://www.reddit.com/r/x/comments/") == count
    assert "good faith belief" in texts["good_faith"] and "not consensual" in texts["good_faith"]
    assert "advocate@example.org" in texts["contact"]
    assert "penalty of perjury" not in notice.frozen_html.lower()


def test_the_text_version_says_the_same(case, advocate, reddit) -> None:  # type: ignore[no-untyped-def]
    notice = _sign(_notice(case, advocate, reddit), advocate)
    text = notice.frozen_text
    assert "https://www.reddit.com/r/x/comments/0/" in text
    assert "good faith belief" in text
    assert "advocate@example.org" in text
    assert "Signed electronically by /Alex Advocate/" in text
    assert "48 hours" in text
    assert "2026-11-22" in text


def test_an_ai_case_says_digital_forgery(case, advocate, reddit) -> None:  # type: ignore[no-untyped-def]
    case.content_kind = "ai"
    case.save()
    notice = _sign(_notice(case, advocate, reddit), advocate)
    assert "digital forgery" in element_texts(notice.frozen_html)["good_faith"]


def test_a_draft_lacks_the_signature_so_it_cannot_be_sent(case, advocate, reddit) -> None:  # type: ignore[no-untyped-def]
    notice = _notice(case, advocate, reddit)
    html = render_notice_html(notice)
    assert missing_elements(get_basis(BASIS), html) == ["signature"]
    assert "DRAFT" in html
    with pytest.raises(CaseError, match="Sign the notice"):
        mark_notice_sent(notice, actor=advocate)


def test_signing_freezes_the_text_and_the_pdf_digest(case, advocate, reddit) -> None:  # type: ignore[no-untyped-def]
    notice = _sign(_notice(case, advocate, reddit), advocate)
    pdf = base64.b64decode(notice.frozen_pdf_b64)
    assert pdf.startswith(b"%PDF")
    assert hashlib.sha256(pdf).hexdigest() == notice.pdf_sha256
    # Later changes to the case do not change what was signed.
    ReportedURLFactory(case=case, platform=reddit, url="https://www.reddit.com/r/x/comments/new/")
    notice.refresh_from_db()
    assert "comments/new" not in notice.frozen_html
    assert Event.objects.filter(case=case, action="notice.signed").count() == 1


def test_it_refuses_to_sign_without_the_attestation(case, advocate, reddit) -> None:  # type: ignore[no-untyped-def]
    notice = _notice(case, advocate, reddit)
    with pytest.raises(CaseError, match="Tick the box"):
        sign_notice(notice, actor=advocate, full_name="Alex Advocate", capacity="representative", attested=False)
    with pytest.raises(CaseError, match="full name"):
        sign_notice(notice, actor=advocate, full_name=" ", capacity="representative", attested=True)


def test_a_representative_needs_the_survivors_authorisation(case, advocate, reddit) -> None:  # type: ignore[no-untyped-def]
    case.survivor.consent_act_on_behalf = False
    case.survivor.save()
    notice = _notice(case, advocate, reddit)
    with pytest.raises(CaseError, match="not authorised"):
        _sign(notice, advocate)
    notice.refresh_from_db()
    assert not notice.is_frozen


def test_a_notice_without_contact_details_cannot_be_signed(case, advocate, reddit) -> None:  # type: ignore[no-untyped-def]
    advocate.email = ""
    advocate.save()
    notice = _notice(case, advocate, reddit)
    with pytest.raises(CaseError, match="contact details"):
        _sign(notice, advocate)


def test_the_viewer_cannot_draft_or_sign(case, advocate, viewer, reddit) -> None:  # type: ignore[no-untyped-def]
    ReportedURLFactory(case=case, platform=reddit)
    with pytest.raises(CaseError):
        create_notice(case, reddit, BASIS, actor=viewer)
    notice = create_notice(case, reddit, BASIS, actor=advocate)
    with pytest.raises(CaseError):
        _sign(notice, viewer)


def test_sending_starts_the_48_hour_clock(case, advocate, reddit) -> None:  # type: ignore[no-untyped-def]
    notice = mark_notice_sent(_sign(_notice(case, advocate, reddit), advocate), actor=advocate)
    assert notice.sent_at is not None and notice.deadline_at is not None
    assert (notice.deadline_at - notice.sent_at).total_seconds() == 48 * 3600
    assert set(notice.urls.values_list("status", flat=True)) == {"notice_sent"}
    changes = Event.objects.filter(case=case, action="url.status_changed")
    assert {(e.data["from"], e.data["to"], e.data["reason"]) for e in changes} == {
        ("reported", "notice_sent", "notice_sent")
    }
    again = mark_notice_sent(notice, actor=advocate)
    assert again.sent_at == notice.sent_at


def test_a_notice_covers_only_the_platforms_urls(case, advocate, reddit) -> None:  # type: ignore[no-untyped-def]
    ReportedURLFactory(case=case, platform=Platform.objects.get(slug="x"), url="https://x.com/a/status/1")
    notice = _notice(case, advocate, reddit, 2)
    assert notice.urls.count() == 2
    assert "x.com" not in render_notice_text(notice)


def test_the_pdf_download_is_the_frozen_pdf(case, advocate, reddit) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import login

    notice = _sign(_notice(case, advocate, reddit), advocate)
    response = login(advocate).get(f"/cases/{case.reference}/notices/{notice.pk}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert hashlib.sha256(response.content).hexdigest() == notice.pdf_sha256


def test_the_checker_sees_an_element_left_empty(case, advocate, reddit) -> None:  # type: ignore[no-untyped-def]
    notice = _sign(_notice(case, advocate, reddit), advocate)
    emptied = notice.frozen_html.replace("https://www.reddit.com/r/x/comments/0/", "")
    assert missing_elements(get_basis(BASIS), emptied) == ["identification"]


def test_the_directory_has_40_platforms_each_domain_mapped_once(db) -> None:  # type: ignore[no-untyped-def]
    from notices.directory import PlatformMatcher

    platforms = list(Platform.objects.all())
    assert len(platforms) >= 40
    domains = [d for p in platforms for d in p.domains]
    assert len(domains) == len(set(domains))
    match = PlatformMatcher()
    assert match("https://i.imgur.com/abc.jpg")[1].slug == "imgur"
    assert match("https://drive.google.com/file/d/x")[1].slug == "google"
    assert match("https://nobody-knows.example/x") == ("nobody-knows.example", None)
