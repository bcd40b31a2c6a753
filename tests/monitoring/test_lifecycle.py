"""The reported-URL lifecycle: the transition table, manual moves, and the moves checks drive."""

from __future__ import annotations

import datetime
import io
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from PIL import Image

from cases.errors import CaseError
from cases.models import Case, Event, ReportedURL, URLStatus
from cases.services import PermissionDenied
from hashing.models import MediaItem
from hashing.services import add_uploaded_media
from monitoring.lifecycle import (
    REASONS,
    TRANSITIONS,
    IllegalTransition,
    Reason,
    allowed_transitions,
    automatic_move,
    transition,
)
from monitoring.models import Match, Outcome, URLCheck
from monitoring.services import check_reported_url
from notices.models import Notice, NoticeStatus, Platform
from tests.factories import ReportedURLFactory
from tests.monitoring.doubles import LocalServer, Page

pytestmark = pytest.mark.django_db

S = URLStatus
ALL = list(URLStatus)
# A reason a person may give for reaching each state.
MANUAL_REASON = {
    S.NOTICE_SENT: Reason.NOTICE_SENT,
    S.ACKNOWLEDGED: Reason.PLATFORM_ACKNOWLEDGED,
    S.STILL_UP: Reason.DEADLINE_PASSED,
    S.REFUSED: Reason.PLATFORM_REFUSED,
    S.ESCALATED: Reason.ESCALATED,
    S.REMOVED: Reason.PLATFORM_REMOVED,
    S.REAPPEARED: Reason.SEEN_AGAIN,
}


@pytest.fixture(autouse=True)
def _fetch_settings(settings) -> None:  # type: ignore[no-untyped-def]
    settings.FETCH_ALLOW_LOOPBACK = True
    settings.FETCH_CONNECT_TIMEOUT = 2
    settings.FETCH_TOTAL_TIMEOUT = 5


def _url(case: Case, status: str = S.REPORTED, **kwargs: Any) -> ReportedURL:
    return ReportedURLFactory(case=case, status=status, **kwargs)


def _changes(case: Case) -> list[dict[str, Any]]:
    return [e.data for e in Event.objects.filter(case=case, action="url.status_changed").order_by("id")]


# --- The table ---------------------------------------------------------------------------


def test_the_issue_paths_are_all_in_the_table() -> None:
    paths = [
        [S.REPORTED, S.NOTICE_SENT, S.ACKNOWLEDGED, S.REMOVED],
        [S.REPORTED, S.NOTICE_SENT, S.STILL_UP, S.ESCALATED, S.REMOVED],
        [S.REPORTED, S.NOTICE_SENT, S.ACKNOWLEDGED, S.STILL_UP, S.ESCALATED, S.REMOVED],
        [S.REMOVED, S.REAPPEARED, S.NOTICE_SENT],
        [S.NOTICE_SENT, S.REFUSED, S.ESCALATED, S.NOTICE_SENT],
    ]
    for path in paths:
        for before, after in zip(path, path[1:], strict=False):
            assert after in TRANSITIONS[before], f"{before} -> {after}"


def test_every_state_has_moves_and_every_destination_has_reasons() -> None:
    assert set(TRANSITIONS) == set(URLStatus)
    for targets in TRANSITIONS.values():
        assert targets
        for target in targets:
            assert REASONS[target]
    # Removed is only left by coming back.
    assert TRANSITIONS[S.REMOVED] == {S.REAPPEARED}
    assert allowed_transitions("removed") == {S.REAPPEARED}


def test_the_original_status_values_are_unchanged() -> None:
    assert {"reported", "notice_sent", "removed", "still_up"} <= set(URLStatus.values)
    assert ReportedURL._meta.get_field("status").default == "reported"


@pytest.mark.parametrize("before", ALL)
@pytest.mark.parametrize("after", ALL)
def test_each_pair_is_allowed_exactly_when_the_table_says(
    case: Case, advocate: Any, before: URLStatus, after: URLStatus
) -> None:
    url = _url(case, before)
    if after in TRANSITIONS[before]:
        moved = transition(url, after, actor=advocate, reason=MANUAL_REASON[after])
        assert moved.status == after
        assert url.status == after  # the caller's copy is updated too
        assert ReportedURL.objects.get(pk=url.pk).status == after
        assert _changes(case) == [{"url_id": url.pk, "from": before, "to": after, "reason": MANUAL_REASON[after]}]
    else:
        with pytest.raises(IllegalTransition) as caught:
            transition(url, after, actor=advocate, reason=MANUAL_REASON.get(after, Reason.NOTICE_SENT))
        assert caught.value.code == "illegal_transition"
        assert ReportedURL.objects.get(pk=url.pk).status == before
        assert _changes(case) == []


# --- Manual moves ------------------------------------------------------------------------------


def test_a_manual_move_records_who_and_when(case: Case, advocate: Any) -> None:
    url = _url(case, S.NOTICE_SENT)
    emailed = timezone.now() - datetime.timedelta(days=2)
    before = timezone.now()
    transition(url, S.REFUSED, actor=advocate, reason=Reason.PLATFORM_REFUSED, occurred_at=emailed)
    [event] = Event.objects.filter(case=case, action="url.status_changed")
    assert event.actor == advocate
    assert event.actor_label == advocate.username
    assert event.created_at >= before
    assert event.data["occurred_at"] == emailed.isoformat()
    url.refresh_from_db()
    assert url.status_changed_at is not None and url.status_changed_at >= before


def test_the_platform_saying_it_removed_the_url_is_a_manual_move(case: Case, advocate: Any) -> None:
    url = _url(case, S.ACKNOWLEDGED)
    transition(url, S.REMOVED, actor=advocate, reason=Reason.PLATFORM_REMOVED)
    assert _changes(case)[0]["reason"] == "platform_removed"


def test_a_date_in_the_future_is_refused(case: Case, advocate: Any) -> None:
    with pytest.raises(CaseError) as caught:
        transition(
            _url(case, S.NOTICE_SENT),
            S.REFUSED,
            actor=advocate,
            reason=Reason.PLATFORM_REFUSED,
            occurred_at=timezone.now() + datetime.timedelta(days=1),
        )
    assert caught.value.code == "future_date"


@pytest.mark.parametrize("persona", ["viewer", "outsider"])
def test_only_people_who_may_write_to_the_case_move_its_urls(
    case: Case, persona: str, request: pytest.FixtureRequest
) -> None:
    url = _url(case, S.NOTICE_SENT)
    with pytest.raises(PermissionDenied):
        transition(url, S.REFUSED, actor=request.getfixturevalue(persona), reason=Reason.PLATFORM_REFUSED)
    assert ReportedURL.objects.get(pk=url.pk).status == S.NOTICE_SENT
    assert _changes(case) == []


@pytest.mark.parametrize(
    ("to", "reason", "code"),
    [
        (S.ESCALATED, Reason.PLATFORM_REMOVED, "reason_mismatch"),
        (S.REFUSED, "because I said so", "unknown_reason"),
        ("deleted", Reason.PLATFORM_REMOVED, "unknown_status"),
        (S.REMOVED, Reason.CHECK_GONE, "reason_needs_check"),  # a person cannot claim a check saw it
    ],
)
def test_reasons_are_codes_that_fit_the_move(case: Case, advocate: Any, to: str, reason: str, code: str) -> None:
    with pytest.raises(CaseError) as caught:
        transition(_url(case, S.NOTICE_SENT), to, actor=advocate, reason=reason)
    assert caught.value.code == code
    assert _changes(case) == []


def test_the_system_moves_without_an_actor(case: Case) -> None:
    url = _url(case, S.REPORTED)
    transition(url, S.NOTICE_SENT, actor=None, reason=Reason.NOTICE_SENT)
    assert Event.objects.get(case=case, action="url.status_changed").actor_label == "system"


# --- Which move a check calls for ------------------------------------------------------------------


def _seen(outcome: str, match: str = "") -> URLCheck:
    return URLCheck(outcome=outcome, match=match)


@pytest.mark.parametrize(
    ("status", "check", "matched_before", "deadline_passed", "expected"),
    [
        # Gone: removed, from anywhere but removed.
        (S.REPORTED, _seen(Outcome.GONE), False, False, (S.REMOVED, Reason.CHECK_GONE)),
        (S.ESCALATED, _seen(Outcome.GONE), True, True, (S.REMOVED, Reason.CHECK_GONE)),
        (S.REAPPEARED, _seen(Outcome.GONE), True, False, (S.REMOVED, Reason.CHECK_GONE)),
        (S.REMOVED, _seen(Outcome.GONE), True, False, None),
        # The media that was there is conclusively not there now.
        (S.NOTICE_SENT, _seen(Outcome.REACHABLE, Match.NOT_FOUND), True, False, (S.REMOVED, Reason.CHECK_MEDIA_GONE)),
        (S.NOTICE_SENT, _seen(Outcome.REACHABLE, Match.NOT_FOUND), False, False, None),  # never seen: no claim
        (S.NOTICE_SENT, _seen(Outcome.REACHABLE, Match.INCONCLUSIVE), True, False, None),
        (S.NOTICE_SENT, _seen(Outcome.REACHABLE, Match.REVIEW), True, False, None),
        # Back again.
        (S.REMOVED, _seen(Outcome.REACHABLE, Match.MATCHED), True, False, (S.REAPPEARED, Reason.CHECK_REAPPEARED)),
        (S.REMOVED, _seen(Outcome.REACHABLE, Match.REVIEW), True, False, None),
        (S.REMOVED, _seen(Outcome.REACHABLE, Match.NO_HASHES), True, False, None),
        # Past the deadline and still there.
        (S.NOTICE_SENT, _seen(Outcome.REACHABLE, Match.MATCHED), True, True, (S.STILL_UP, Reason.DEADLINE_PASSED)),
        (S.ACKNOWLEDGED, _seen(Outcome.REACHABLE, Match.NO_HASHES), False, True, (S.STILL_UP, Reason.DEADLINE_PASSED)),
        (S.NOTICE_SENT, _seen(Outcome.REACHABLE, Match.MATCHED), True, False, None),
        (S.NOTICE_SENT, _seen(Outcome.REACHABLE, Match.INCONCLUSIVE), False, True, None),
        (S.STILL_UP, _seen(Outcome.REACHABLE, Match.MATCHED), True, True, None),
        # Errors and refusals say nothing about the content.
        (S.NOTICE_SENT, _seen(Outcome.ERROR), True, True, None),
        (S.REMOVED, _seen(Outcome.REFUSED), True, True, None),
    ],
)
def test_automatic_moves(
    status: URLStatus,
    check: URLCheck,
    matched_before: bool,
    deadline_passed: bool,
    expected: tuple[URLStatus, Reason] | None,
) -> None:
    assert automatic_move(status, check, matched_before=matched_before, deadline_passed=deadline_passed) == expected


# --- Checks against the local server ------------------------------------------------------------------


@pytest.fixture
def original(vectors: Path) -> bytes:
    return (vectors / "pdq" / "bridge-mods" / "aaa-orig.jpg").read_bytes()


@pytest.fixture
def photo(case: Case, advocate: Any, original: bytes) -> MediaItem:
    return add_uploaded_media(case, io.BytesIO(original), actor=advocate)


@pytest.fixture
def copy(original: bytes) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(original)).convert("RGB").save(out, "JPEG", quality=40)
    return out.getvalue()


WITH_IMAGE = b'<!doctype html><html><body><h1>post</h1><img src="/m/1.jpg"></body></html>'
WITHOUT_IMAGE = b"<!doctype html><html><body><h1>post</h1><p>This content is no longer available.</p></body></html>"


def _check(url: ReportedURL) -> URLCheck:
    check = check_reported_url(url.pk)
    assert check is not None
    url.refresh_from_db()
    return check


def test_a_page_that_drops_its_image_is_removed_and_reappears_when_it_comes_back(
    case: Case, photo: MediaItem, copy: bytes, local_server: LocalServer
) -> None:
    local_server.pages.update({"/post": Page(WITH_IMAGE), "/m/1.jpg": Page(copy, "image/jpeg")})
    url = ReportedURLFactory(case=case, url=local_server.url("/post"), domain="127.0.0.1")
    transition(url, S.NOTICE_SENT, actor=None, reason=Reason.NOTICE_SENT)

    first = _check(url)
    assert first.match == Match.MATCHED
    assert url.status == S.NOTICE_SENT

    local_server.pages["/post"] = Page(WITHOUT_IMAGE)
    second = _check(url)
    assert (second.outcome, second.match) == (Outcome.REACHABLE, Match.NOT_FOUND)
    assert url.status == S.REMOVED

    third = _check(url)  # still gone: no second move
    assert third.match == Match.NOT_FOUND

    local_server.pages["/post"] = Page(WITH_IMAGE)
    fourth = _check(url)
    assert fourth.match == Match.MATCHED
    assert url.status == S.REAPPEARED

    assert _changes(case) == [
        {"url_id": url.pk, "from": "reported", "to": "notice_sent", "reason": "notice_sent"},
        {"url_id": url.pk, "from": "notice_sent", "to": "removed", "reason": "check_media_gone", "check_id": second.pk},
        {"url_id": url.pk, "from": "removed", "to": "reappeared", "reason": "check_reappeared", "check_id": fourth.pk},
    ]
    # Each check is evidence of its own: the page's digest changed with the page.
    assert first.content_sha256 != second.content_sha256 == third.content_sha256
    assert fourth.content_sha256 == first.content_sha256


@pytest.mark.parametrize("status", [404, 410])
def test_a_url_that_answers_404_or_410_is_removed(case: Case, local_server: LocalServer, status: int) -> None:
    url = ReportedURLFactory(case=case, url=local_server.url(f"/status/{status}"), domain="127.0.0.1")
    check = _check(url)
    assert url.status == S.REMOVED
    assert _changes(case) == [
        {"url_id": url.pk, "from": "reported", "to": "removed", "reason": "check_gone", "check_id": check.pk}
    ]
    _check(url)
    assert len(_changes(case)) == 1  # a second "gone" changes nothing


def test_an_image_host_that_is_down_is_not_a_removal(
    case: Case, photo: MediaItem, copy: bytes, local_server: LocalServer
) -> None:
    local_server.pages.update({"/post": Page(WITH_IMAGE), "/m/1.jpg": Page(copy, "image/jpeg")})
    url = ReportedURLFactory(case=case, url=local_server.url("/post"), domain="127.0.0.1", status=S.NOTICE_SENT)
    assert _check(url).match == Match.MATCHED
    local_server.pages["/m/1.jpg"] = Page(b"busy", "text/plain", status=503)
    check = _check(url)
    assert check.match == Match.INCONCLUSIVE
    assert url.status == S.NOTICE_SENT
    assert _changes(case) == []


def test_a_removed_image_gone_from_its_host_is_removal(
    case: Case, photo: MediaItem, copy: bytes, local_server: LocalServer
) -> None:
    """The page still names the image, but its host answers 404: conclusive, the media is not served."""
    local_server.pages.update({"/post": Page(WITH_IMAGE), "/m/1.jpg": Page(copy, "image/jpeg")})
    url = ReportedURLFactory(case=case, url=local_server.url("/post"), domain="127.0.0.1", status=S.NOTICE_SENT)
    _check(url)
    del local_server.pages["/m/1.jpg"]
    assert _check(url).match == Match.NOT_FOUND
    assert url.status == S.REMOVED


def _notice(case: Case, url: ReportedURL, deadline: datetime.datetime) -> Notice:
    notice = Notice.objects.create(
        case=case,
        platform=Platform.objects.get(slug="reddit"),
        basis="us-take-it-down",
        status=NoticeStatus.SENT,
        sent_at=deadline - datetime.timedelta(hours=48),
        deadline_at=deadline,
    )
    notice.urls.add(url)
    return notice


def test_content_still_up_after_the_deadline_is_still_up(
    case: Case, photo: MediaItem, copy: bytes, local_server: LocalServer
) -> None:
    local_server.pages.update({"/post": Page(WITH_IMAGE), "/m/1.jpg": Page(copy, "image/jpeg")})
    url = ReportedURLFactory(case=case, url=local_server.url("/post"), domain="127.0.0.1", status=S.NOTICE_SENT)
    notice = _notice(case, url, timezone.now() + datetime.timedelta(hours=1))
    _check(url)
    assert url.status == S.NOTICE_SENT  # the platform still has time

    Notice.objects.filter(pk=notice.pk).update(deadline_at=timezone.now() - datetime.timedelta(minutes=1))
    check = _check(url)
    assert url.status == S.STILL_UP
    assert _changes(case)[-1] == {
        "url_id": url.pk,
        "from": "notice_sent",
        "to": "still_up",
        "reason": "deadline_passed",
        "check_id": check.pk,
    }


def test_a_check_and_its_move_are_written_together(
    case: Case, local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the move fails, the check is not half-written: the task's retry will redo both."""
    from monitoring import lifecycle

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(lifecycle, "transition", broken)
    url = ReportedURLFactory(case=case, url=local_server.url("/status/404"), domain="127.0.0.1")
    with pytest.raises(RuntimeError):
        check_reported_url(url.pk)
    assert not URLCheck.objects.exists()
    assert not Event.objects.filter(case=case, action="url.checked").exists()
