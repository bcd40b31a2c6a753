"""Every legal basis renders every element it requires, right, across a range of cases.

Most renderings set the notice's signature fields directly and render HTML and
text (no PDF), so the matrix stays fast; `test_every_basis_signs_through_the_service`
signs each basis for real through `sign_notice`, PDF and all. Self-service
capacity is exercised by signing with capacity "self" (the view offers staff
only "representative" until the self-service issue wires the survivor in).
"""

from __future__ import annotations

import datetime as dt
import html as htmllib
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from cases.errors import CaseError
from cases.models import ReportedURL
from notices.catalogue import Period, add_months, get_basis, load_catalogue, parse_basis
from notices.models import Notice, Platform
from notices.render import element_texts, missing_elements, render_notice_html, render_notice_text
from notices.services import sign_notice

ALL_BASES = sorted(load_catalogue())
TEMPLATES = Path(settings.BASE_DIR) / "templates"

# Where the survivor lives and what the content is, per basis, so that the
# elements bound to a jurisdiction (SB 981: a California resident; eSafety: a
# link to Australia; DSA: a member state's offence) have something to say.
RESIDENCE = {
    "us-take-it-down": ("US", "CA", "real"),
    "us-dmca-512c3": ("US", "CA", "real"),
    "us-ca-sb981": ("US", "California", "ai"),
    "us-ca-civ-1708": ("US", "CA", "unknown"),
    "eu-dsa-art16": ("FR", "", "ai"),
    "eu-gdpr-art17": ("DE", "", "real"),
    "uk-osa-s20a": ("GB", "", "ai"),
    "uk-gdpr-art17": ("GB", "", "real"),
    "au-esafety": ("AU", "NSW", "ai"),
    "ca-bc-iipa": ("CA", "BC", "ai"),
    "google-ncii-form": ("US", "CA", "ai"),
    "bing-ncii-form": ("GB", "", "real"),
}
URL_ELEMENT = {"identification", "location", "personal_data", "urls"}
PERIOD_RE = re.compile(
    r"\b(\d+|one|two|three|four|five|six|seven|ten|fourteen|thirty|sixty)\s+(?:business\s+)?(hours?|days?|weeks?|months?)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Variant:
    name: str
    urls: int = 1


VARIANTS = [
    Variant("full"),
    Variant("full", urls=200),
    Variant("no_legal_name"),
    Variant("no_phone"),
    Variant("no_email"),
    Variant("no_region"),
]


def _expected_missing(basis_id: str, capacity: str, variant: str) -> set[str]:
    """What the checker must refuse: the law needs a fact this case lacks."""
    if variant == "no_region" and basis_id == "us-ca-sb981":
        return {"reporting_user"}  # only a California resident can report under SB 981
    if variant == "no_email" and capacity == "self":
        return {"eu-dsa-art16": {"sender"}, "google-ncii-form": {"email"}, "bing-ncii-form": {"email"}}.get(
            basis_id, set()
        )
    return set()


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:  # type: ignore[no-untyped-def]
    # The personas' passwords are hashed with Argon2 otherwise: most of this matrix's time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def social(db) -> Platform:  # type: ignore[no-untyped-def]
    return Platform.objects.create(
        slug="example-social",
        name="Example Social",
        domains=["example-social.test"],
        jurisdiction="US",
        ncii_email="ncii@example-social.test",
        dmca_email="dmca@example-social.test",
    )


@pytest.fixture
def search(db) -> Platform:  # type: ignore[no-untyped-def]
    return Platform.objects.create(slug="example-search", name="Example Search", domains=["example-search.test"])


def _notice(  # type: ignore[no-untyped-def]
    case, platform: Platform, basis_id: str, *, urls: int, variant: str = "full", kind: str = "", country: str = ""
) -> Notice:
    """A saved notice on `urls` URLs; the case is set up for the basis, then overridden by `kind`/`country`."""
    default_country, region, default_kind = RESIDENCE[basis_id]
    country, kind = country or default_country, kind or default_kind
    survivor = case.survivor
    survivor.country, survivor.region = country, region
    if variant == "no_region":
        survivor.region = ""
    if variant == "no_legal_name":
        survivor.legal_name = ""
    if variant == "no_phone":
        survivor.phone = ""
    if variant == "no_email":
        survivor.email = ""
    survivor.save()
    case.content_kind = kind
    case.save()
    rows = ReportedURL.objects.bulk_create(
        ReportedURL(
            case=case, platform=None, domain="example-social.test", url=f"https://example-social.test/p/{n}?a=1&b=2"
        )
        for n in range(urls)
    )
    notice = Notice.objects.create(case=case, platform=platform, basis=basis_id)
    notice.urls.set(rows)
    return Notice.objects.select_related("case__survivor", "case__organization", "platform").get(pk=notice.pk)


def _sign_in_memory(notice: Notice, capacity: str, advocate) -> str:  # type: ignore[no-untyped-def]
    """Set the signature as sign_notice would, without the PDF; returns the signer's name."""
    name = "Alex Advocate" if capacity == "representative" else "Robin Q. Survivor"
    notice.signer_name = name
    notice.signer_capacity = capacity
    notice.signed_at = timezone.now()
    notice.signed_by = advocate
    return name


def _platform_for(basis_id: str, social: Platform, search: Platform) -> Platform:
    return search if "search_engine" in get_basis(basis_id).recipient_kinds and basis_id.endswith("-form") else social


def _matrix() -> list[tuple[str, str, Variant]]:
    return [
        (basis_id, capacity, variant)
        for basis_id in ALL_BASES
        for capacity in sorted(get_basis(basis_id).who_may_send)
        for variant in VARIANTS
    ]


@pytest.mark.parametrize(
    ("basis_id", "capacity", "variant"), _matrix(), ids=lambda v: v.name + str(v.urls) if isinstance(v, Variant) else v
)
def test_every_basis_renders_every_element(case, advocate, social, search, basis_id, capacity, variant) -> None:  # type: ignore[no-untyped-def]
    basis = get_basis(basis_id)
    notice = _notice(case, _platform_for(basis_id, social, search), basis_id, urls=variant.urls, variant=variant.name)
    signer = _sign_in_memory(notice, capacity, advocate)
    html = render_notice_html(notice)
    text = render_notice_text(notice)
    texts = element_texts(html)

    assert set(missing_elements(basis, html)) == _expected_missing(basis_id, capacity, variant.name)

    # Every URL, once, in the element that locates the content, and in the text.
    url_element = next(iter(URL_ELEMENT & set(basis.element_ids)))
    assert texts[url_element].count("https://example-social.test/p/") == variant.urls
    assert text.count("https://example-social.test/p/") == variant.urls
    assert "?a=1&b=2" in text  # the email body is not HTML-escaped

    # The signature, the citation and the as-of date, in both renderings.
    assert f"Signed electronically by /{signer}/" in texts["signature"]
    assert f"Signed electronically by /{signer}/" in text
    for rendering in (htmllib.unescape(html), text):
        assert basis.citation in rendering
        assert "2026-11-22" in rendering
        assert "DRAFT" not in rendering
    assert case.reference in text


@pytest.mark.parametrize("basis_id", ALL_BASES)
@pytest.mark.parametrize("kind", ["real", "ai", "unknown"])
def test_no_notice_claims_a_period_its_law_does_not_set(case, advocate, social, search, basis_id, kind) -> None:  # type: ignore[no-untyped-def]
    basis = get_basis(basis_id)
    notice = _notice(case, _platform_for(basis_id, social, search), basis_id, urls=2, kind=kind)
    _sign_in_memory(notice, sorted(basis.who_may_send)[0], advocate)
    allowed = basis.deadline.phrases if basis.deadline else frozenset()
    for rendering in (htmllib.unescape(render_notice_html(notice)), render_notice_text(notice)):
        claimed = {f"{m.group(1)} {m.group(2)}".lower() for m in PERIOD_RE.finditer(rendering)}
        assert claimed <= allowed, f"{basis_id} states {sorted(claimed - allowed)}"
        if basis_id in ("us-take-it-down", "uk-osa-s20a"):
            assert "48 hours" in rendering
        if basis_id == "au-esafety":
            # eSafety's 24 hours run from its own removal notice, not from this report.
            assert rendering.count("24 hours") == rendering.count("24 hours after eSafety's removal notice") == 1
        if basis_id in ("us-dmca-512c3", "eu-dsa-art16"):
            assert "48 hours" not in rendering and "24 hours" not in rendering


def _render(case, advocate, social, search, basis_id: str, capacity: str = "") -> tuple[str, str, dict[str, str]]:  # type: ignore[no-untyped-def]
    notice = _notice(case, _platform_for(basis_id, social, search), basis_id, urls=1)
    _sign_in_memory(notice, capacity or sorted(get_basis(basis_id).who_may_send)[0], advocate)
    html = render_notice_html(notice)
    return html, render_notice_text(notice), element_texts(html)


@pytest.mark.parametrize("basis_id", ALL_BASES)
def test_only_the_dmca_is_under_penalty_of_perjury(case, advocate, social, search, basis_id) -> None:  # type: ignore[no-untyped-def]
    html, text, texts = _render(case, advocate, social, search, basis_id)
    is_dmca = basis_id == "us-dmca-512c3"
    assert ("penalty of perjury" in html.lower()) is is_dmca
    assert ("penalty of perjury" in text.lower()) is is_dmca
    assert ("penalty_of_perjury" in get_basis(basis_id).statement_kinds) is is_dmca
    if is_dmca:
        assert "under penalty of perjury" in texts["accuracy_perjury"]
        assert "information in this notification is accurate" in texts["accuracy_perjury"]
        assert "not authorized by the copyright owner, its agent, or the law" in texts["good_faith"]


def test_take_it_down_states_good_faith_about_consent(case, advocate, social, search) -> None:  # type: ignore[no-untyped-def]
    _html, _text, texts = _render(case, advocate, social, search, "us-take-it-down", "representative")
    assert "good faith belief" in texts["good_faith"] and "not consensual" in texts["good_faith"]


@pytest.mark.parametrize("capacity", ["self", "representative"])
def test_the_dsa_notice_names_the_sender_and_states_bona_fide_belief(case, advocate, social, search, capacity) -> None:  # type: ignore[no-untyped-def]
    _html, text, texts = _render(case, advocate, social, search, "eu-dsa-art16", capacity)
    name, email = (
        ("Alex Advocate", "advocate@example.org")
        if capacity == "representative"
        else ("Robin Q. Survivor", "robin@example.org")
    )
    assert name in texts["sender"] and email in texts["sender"]
    assert "bona fide belief" in texts["bona_fide"] and "accurate and complete" in texts["bona_fide"]
    # The member state's offence is named (France: the survivor lives there).
    assert "France" in texts["reasons"] and "226-2-1" in texts["reasons"]
    assert "226-8-1" in texts["reasons"]  # the content is AI-generated: France's deepfake offence too


def test_a_dsa_notice_for_a_state_without_a_citation_still_names_the_state(case, advocate, social, search) -> None:  # type: ignore[no-untyped-def]
    notice = _notice(case, social, "eu-dsa-art16", urls=1, country="LU")
    html = render_notice_html(notice)  # a draft: it tells the sender to name the law
    assert "Luxembourg" in element_texts(html)["reasons"]
    assert "Redress has no citation for the offence in Luxembourg" in html
    assert missing_elements(get_basis("eu-dsa-art16"), html) == []


@pytest.mark.parametrize("capacity", ["self", "representative"])
def test_the_uk_report_declares_good_faith_and_truth(case, advocate, social, search, capacity) -> None:  # type: ignore[no-untyped-def]
    _html, _text, texts = _render(case, advocate, social, search, "uk-osa-s20a", capacity)
    assert "made in good faith" in texts["good_faith"]
    assert "to the best of my knowledge and belief" in texts["good_faith"] and "true" in texts["good_faith"]
    assert "intimate image content" in texts["intimate_image"]
    expected = "acting on behalf of the subject" if capacity == "representative" else "made by the subject"
    assert expected in texts["reporter"]


def test_the_esafety_report_goes_to_esafety_about_the_platform(case, advocate, social, search) -> None:  # type: ignore[no-untyped-def]
    html, text, texts = _render(case, advocate, social, search, "au-esafety", "representative")
    assert "To: eSafety Commissioner" in text and "About content on: Example Social" in text
    assert "ordinarily resident in Australia" in texts["jurisdiction"]
    assert "None recorded" in texts["prior_reports"]
    assert "consents to this report" in texts["reporter"]


def test_esafety_lists_the_notices_already_sent_to_the_platform(case, advocate, social, search) -> None:  # type: ignore[no-untyped-def]
    earlier = Notice.objects.create(case=case, platform=social, basis="us-take-it-down", sent_at=timezone.now())
    earlier.status = "sent"
    earlier.save()
    _html, _text, texts = _render(case, advocate, social, search, "au-esafety", "self")
    assert "TAKE IT DOWN Act removal request" in texts["prior_reports"]


def test_without_a_link_to_australia_the_esafety_report_cannot_be_signed(case, advocate, social) -> None:  # type: ignore[no-untyped-def]
    notice = _notice(case, social, "au-esafety", urls=1, country="US")
    _sign_in_memory(notice, "self", advocate)
    assert missing_elements(get_basis("au-esafety"), render_notice_html(notice)) == ["jurisdiction"]


def test_sb981_does_not_cover_real_images(case, advocate, social) -> None:  # type: ignore[no-untyped-def]
    notice = _notice(case, social, "us-ca-sb981", urls=1, kind="real")
    _sign_in_memory(notice, "self", advocate)
    assert missing_elements(get_basis("us-ca-sb981"), render_notice_html(notice)) == ["covered_material"]


@pytest.mark.parametrize("basis_id", ["google-ncii-form", "bing-ncii-form"])
def test_search_engine_forms_are_answers_field_by_field(case, advocate, social, search, basis_id) -> None:  # type: ignore[no-untyped-def]
    basis = get_basis(basis_id)
    html, text, texts = _render(case, advocate, social, search, basis_id, "representative")
    for field in basis.form_fields:
        assert field.label in text
        if field.required:
            assert texts[field.id], field.id
    assert basis.form_url(case.content_kind) in text
    assert "advocate@example.org" in texts["email"]


def test_google_points_a_fake_to_its_fake_imagery_form(case, advocate, social, search) -> None:  # type: ignore[no-untyped-def]
    _html, text, texts = _render(case, advocate, social, search, "google-ncii-form", "self")
    assert "answer/9116649" in text and "answer/6302812" not in text.split("Under", 1)[1].split("\n", 1)[1]
    assert "fake" in texts["depiction"]
    assert "I am the person depicted." in texts["acting_for"]


@pytest.mark.parametrize("basis_id", ALL_BASES)
def test_a_draft_says_so_and_lacks_only_the_signature(case, social, search, basis_id) -> None:  # type: ignore[no-untyped-def]
    notice = _notice(case, _platform_for(basis_id, social, search), basis_id, urls=3)
    html, text = render_notice_html(notice), render_notice_text(notice)
    assert "DRAFT" in html and "DRAFT" in text and "Not signed yet." in text
    assert set(missing_elements(get_basis(basis_id), html)) <= {"signature"}


@pytest.mark.parametrize(
    ("basis_id", "capacity"), [(b, c) for b in ALL_BASES for c in sorted(get_basis(b).who_may_send)]
)
def test_every_basis_signs_through_the_service(case, advocate, social, search, basis_id, capacity) -> None:  # type: ignore[no-untyped-def]
    notice = _notice(case, _platform_for(basis_id, social, search), basis_id, urls=1)
    signed = sign_notice(notice, actor=advocate, full_name="Sam Signer", capacity=capacity, attested=True)
    assert signed.pdf_sha256 and signed.frozen_pdf_b64
    assert missing_elements(get_basis(basis_id), signed.frozen_html) == []
    assert "Signed electronically by /Sam Signer/" in signed.frozen_text


def test_who_may_send_is_enforced_when_signing(case, advocate, social) -> None:  # type: ignore[no-untyped-def]
    # SB 981's reporting user is the person depicted; nobody reports for them.
    notice = _notice(case, social, "us-ca-sb981", urls=1)
    with pytest.raises(CaseError, match="capacity"):
        sign_notice(notice, actor=advocate, full_name="Alex Advocate", capacity="representative", attested=True)


def test_a_dsa_notice_without_the_senders_email_cannot_be_signed(case, advocate, social) -> None:  # type: ignore[no-untyped-def]
    notice = _notice(case, social, "eu-dsa-art16", urls=1, variant="no_email")
    with pytest.raises(CaseError, match="sender"):
        sign_notice(notice, actor=advocate, full_name="Robin Survivor", capacity="self", attested=True)


# The catalogue itself.


@pytest.mark.parametrize("basis_id", ALL_BASES)
def test_every_basis_is_complete_data(basis_id) -> None:  # type: ignore[no-untyped-def]
    basis = get_basis(basis_id)
    assert basis.as_of == dt.date(2026, 11, 22)
    assert basis.citation and basis.name and basis.jurisdiction
    assert (TEMPLATES / basis.template).is_file() and (TEMPLATES / basis.text_template).is_file()
    assert all(e.wording and e.satisfied_by for e in basis.elements)
    assert basis.escalation is not None and basis.escalation.route and basis.escalation.summary
    assert basis.statements, "the signer attests to at least one statement"


def test_the_deadlines_are_the_ones_the_law_sets() -> None:
    def period(basis_id: str) -> tuple[Period, str, str] | None:
        deadline = get_basis(basis_id).deadline
        return (deadline.period, deadline.clock, deadline.action) if deadline else None

    assert period("us-take-it-down") == (Period(hours=48), "receipt", "remove")
    assert period("uk-osa-s20a") == (Period(hours=48), "receipt", "remove")
    assert period("au-esafety") == (Period(hours=24), "regulator_notice", "remove")
    assert period("us-ca-sb981") == (Period(hours=48), "receipt", "acknowledge")
    assert period("eu-gdpr-art17") == (Period(months=1), "receipt", "respond")
    assert period("uk-gdpr-art17") == (Period(months=1), "receipt", "respond")
    for basis_id in ("us-dmca-512c3", "eu-dsa-art16", "ca-bc-iipa", "google-ncii-form", "bing-ncii-form"):
        deadline = get_basis(basis_id).deadline
        assert deadline is not None and not deadline.period and deadline.description, basis_id
        assert deadline.timedelta is None and deadline.due(timezone.now()) is None
    assert get_basis("us-dmca-512c3").deadline.description == "expeditiously"  # type: ignore[union-attr]
    assert get_basis("ca-bc-iipa").deadline.clock == "tribunal_order"  # type: ignore[union-attr]
    assert get_basis("us-ca-civ-1708").deadline is None
    sb981 = get_basis("us-ca-sb981").deadline
    assert sb981 is not None and {m.period for m in sb981.milestones} == {Period(days=7), Period(days=30)}
    assert sb981.extension is not None and sb981.extension.period == Period(days=60)
    gdpr = get_basis("eu-gdpr-art17").deadline
    assert gdpr is not None and gdpr.extension is not None and gdpr.extension.period == Period(months=2)


def test_only_a_clock_started_by_this_notice_sets_a_due_time() -> None:
    sent = dt.datetime(2027, 1, 31, 9, 0, tzinfo=dt.UTC)
    assert get_basis("us-take-it-down").deadline.timedelta == dt.timedelta(hours=48)  # type: ignore[union-attr]
    # eSafety's 24 hours start at eSafety's own notice, which Redress does not see.
    assert get_basis("au-esafety").deadline.timedelta is None  # type: ignore[union-attr]
    assert get_basis("au-esafety").deadline.due(sent) is None  # type: ignore[union-attr]
    # A month is a calendar month, to the end of the day: 31 January + 1 month = the end of 28 February.
    due = get_basis("eu-gdpr-art17").deadline.due(sent)  # type: ignore[union-attr]
    assert due == dt.datetime(2027, 2, 28, 23, 59, 59, tzinfo=dt.UTC)
    assert add_months(dt.datetime(2028, 1, 31, tzinfo=dt.UTC), 1).day == 29
    assert add_months(dt.datetime(2027, 11, 15, tzinfo=dt.UTC), 2) == dt.datetime(2028, 1, 15, tzinfo=dt.UTC)


def test_each_statement_the_checker_treats_precisely_is_where_the_law_puts_it() -> None:
    kinds = {basis_id: get_basis(basis_id).statement_kinds for basis_id in ALL_BASES}
    assert [b for b, k in kinds.items() if "penalty_of_perjury" in k] == ["us-dmca-512c3"]
    assert [b for b, k in kinds.items() if "bona_fide" in k] == ["eu-dsa-art16"]
    assert {"us-dmca-512c3", "uk-osa-s20a"} <= {b for b, k in kinds.items() if "good_faith" in k}
    assert get_basis("eu-dsa-art16").sender_fields == ("name", "email")


# Each [U] point of the research (shared/legal/) is flagged on its basis.
UNCONFIRMED = {
    "us-take-it-down": "FTC",
    "us-ca-civ-1708": "what evidence",
    "us-ca-sb981": "22671(d)",
    "eu-gdpr-art17": "identifiable",
    "uk-osa-s20a": "29 June 2026",
    "uk-gdpr-art17": "one-month",
    "bing-ncii-form": "current form",
    "ca-bc-iipa": "Bill C-16",
}


@pytest.mark.parametrize(("basis_id", "point"), sorted(UNCONFIRMED.items()))
def test_every_unconfirmed_point_is_flagged(basis_id, point) -> None:  # type: ignore[no-untyped-def]
    assert any(point in u for u in get_basis(basis_id).unconfirmed)


def test_the_uk_flags_both_commencements() -> None:
    flagged = " ".join(get_basis("uk-osa-s20a").unconfirmed)
    assert "29 June 2026" in flagged and "6 February 2026" in flagged


def test_a_required_form_field_must_be_an_element(tmp_path) -> None:  # type: ignore[no-untyped-def]
    source = Path(settings.BASE_DIR) / "notices" / "bases" / "bing-ncii-form.toml"
    broken = tmp_path / "bing-ncii-form.toml"
    broken.write_text(source.read_text().replace('id = "consent"\nsource = "form"', 'id = "agreed"\nsource = "form"'))
    with pytest.raises(ImproperlyConfigured, match="required form field 'consent'"):
        parse_basis(broken)


def test_a_deadline_takes_one_unit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    source = Path(settings.BASE_DIR) / "notices" / "bases" / "uk-osa-s20a.toml"
    broken = tmp_path / "uk-osa-s20a.toml"
    broken.write_text(source.read_text().replace("hours = 48\n", "hours = 48\ndays = 2\n", 1))
    with pytest.raises(ImproperlyConfigured, match="one of hours, days or months"):
        parse_basis(broken)
