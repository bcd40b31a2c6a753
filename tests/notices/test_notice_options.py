"""Which notices the case page offers, and what sending does for each basis."""

from __future__ import annotations

import pytest

from cases.selectors import notice_options
from notices.models import Platform
from notices.services import create_notice, mark_notice_sent, sign_notice
from tests.factories import ReportedURLFactory


@pytest.fixture
def urls(case):  # type: ignore[no-untyped-def]
    reddit = Platform.objects.get(slug="reddit")
    xvideos = Platform.objects.get(slug="xvideos")
    return [
        ReportedURLFactory(case=case, platform=reddit, url="https://www.reddit.com/r/a/1"),
        ReportedURLFactory(case=case, platform=xvideos, url="https://www.xvideos.com/video1", domain="xvideos.com"),
    ]


def test_each_platform_and_the_search_engines_get_proposals(case, urls) -> None:  # type: ignore[no-untyped-def]
    options = {o.platform.slug: o for o in notice_options(case, urls)}
    assert set(options) == {"reddit", "xvideos", "google", "bing"}
    assert options["reddit"].url_count == 1 and options["google"].url_count == 2
    reddit_bases = [basis.id for basis, _reason in options["reddit"].proposals]
    assert reddit_bases[0] == "us-take-it-down"  # a US survivor, a US platform: the 48-hour law first
    assert all(reason for _basis, reason in options["reddit"].proposals)
    assert [b.id for b, _r in options["google"].proposals] == ["google-ncii-form"]
    assert [b.id for b, _r in options["bing"].proposals] == ["bing-ncii-form"]


def test_a_search_engine_form_covers_every_url_of_the_case(case, urls, advocate) -> None:  # type: ignore[no-untyped-def]
    notice = create_notice(case, Platform.objects.get(slug="google"), "google-ncii-form", actor=advocate)
    assert notice.urls.count() == 2


def test_a_gdpr_request_is_due_a_calendar_month_after_sending(case, urls, advocate) -> None:  # type: ignore[no-untyped-def]
    case.survivor.country = "DE"
    case.survivor.save()
    notice = create_notice(case, Platform.objects.get(slug="reddit"), "eu-gdpr-art17", actor=advocate)
    notice = sign_notice(notice, actor=advocate, full_name="Alex Advocate", capacity="representative", attested=True)
    sent = mark_notice_sent(notice, actor=advocate)
    assert sent.deadline_at is not None
    days = (sent.deadline_at - sent.sent_at).days
    assert 28 <= days <= 31


def test_every_action_the_services_record_has_timeline_words() -> None:
    """A new event name without a description would show raw on the case page."""
    import re
    from pathlib import Path

    from cases.selectors import _DESCRIPTIONS

    root = Path(__file__).resolve().parents[2]
    actions = set()
    for source in [*root.glob("*/services.py"), *root.glob("monitoring/*.py")]:
        actions |= set(re.findall(r'"((?:case|media|url|notice)\.[a-z_]+)"', source.read_text()))
    missing = sorted(a for a in actions - set(_DESCRIPTIONS) if a != "case.viewed")
    assert missing == []
