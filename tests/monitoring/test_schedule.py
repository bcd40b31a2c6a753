"""The re-check schedule: what is due, back-off, the per-host limit and claims. Time is passed in, never frozen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from cases.models import Case, ReportedURL, URLStatus
from monitoring import schedule, tasks
from monitoring.models import CheckClaim, Outcome, URLCheck
from notices.models import Notice, NoticeStatus, Platform
from tests.factories import ReportedURLFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the checks queued instead of running them."""
    queued: list[int] = []
    monkeypatch.setattr(tasks.check_url, "delay", lambda url_id: queued.append(url_id))
    return queued


@pytest.fixture
def platform() -> Platform:
    return Platform.objects.create(slug="example", name="Example", domains=["reddit.com"])


def url_in(case: Case, status: str = URLStatus.REPORTED, changed: datetime | None = None, **kw: object) -> ReportedURL:
    return ReportedURLFactory(case=case, status=status, status_changed_at=changed, **kw)


def check(url: ReportedURL, at: datetime, outcome: str = Outcome.REACHABLE) -> URLCheck:
    return URLCheck.objects.create(reported_url=url, checked_at=at, outcome=outcome)


def notice(url: ReportedURL, platform: Platform, deadline: datetime | None, *, sent_at: datetime | None) -> Notice:
    made = Notice.objects.create(
        case=url.case,
        platform=platform,
        basis="test",
        status=NoticeStatus.SENT if sent_at else NoticeStatus.DRAFT,
        sent_at=sent_at,
        deadline_at=deadline,
    )
    made.urls.add(url)
    return made


# --- (a) a notice's deadline passed ------------------------------------------------


def test_a_url_is_due_once_its_notice_deadline_passes(case: Case, platform: Platform) -> None:
    url = url_in(case, URLStatus.NOTICE_SENT)
    check(url, NOW - timedelta(days=3))
    notice(url, platform, NOW + timedelta(hours=1), sent_at=NOW - timedelta(days=2))
    assert schedule.due_checks(NOW) == []
    assert schedule.due_checks(NOW + timedelta(hours=1)) == [url.pk]


def test_a_check_since_the_deadline_settles_it(case: Case, platform: Platform) -> None:
    url = url_in(case, URLStatus.NOTICE_SENT)
    notice(url, platform, NOW - timedelta(hours=2), sent_at=NOW - timedelta(days=2))
    assert schedule.due_checks(NOW) == [url.pk]
    check(url, NOW - timedelta(hours=1))
    assert schedule.due_checks(NOW) == []


def test_an_unsent_notice_or_one_without_deadline_makes_nothing_due(case: Case, platform: Platform) -> None:
    draft = url_in(case)
    notice(draft, platform, NOW - timedelta(days=1), sent_at=None)
    no_deadline = url_in(case, URLStatus.NOTICE_SENT)
    notice(no_deadline, platform, None, sent_at=NOW - timedelta(days=1))
    assert schedule.due_checks(NOW) == []


def test_the_latest_passed_deadline_counts(case: Case, platform: Platform) -> None:
    url = url_in(case, URLStatus.NOTICE_SENT)
    notice(url, platform, NOW - timedelta(days=5), sent_at=NOW - timedelta(days=10))
    check(url, NOW - timedelta(days=4))
    assert schedule.due_checks(NOW) == []
    notice(url, platform, NOW - timedelta(days=1), sent_at=NOW - timedelta(days=3))
    assert schedule.due_checks(NOW) == [url.pk]


# --- (b) removed, weekly; (c) reappeared, daily ---------------------------------------


def test_a_removed_url_is_rechecked_weekly(case: Case) -> None:
    url = url_in(case, URLStatus.REMOVED, changed=NOW - timedelta(days=10))
    check(url, NOW - timedelta(days=6, hours=23), Outcome.GONE)
    assert schedule.due_checks(NOW) == []
    assert schedule.due_checks(NOW + timedelta(hours=1)) == [url.pk]


def test_a_removal_a_person_confirmed_counts_as_seen(case: Case) -> None:
    url = url_in(case, URLStatus.REMOVED, changed=NOW - timedelta(days=2))
    check(url, NOW - timedelta(days=30))  # the last check is old, the confirmation is not
    assert schedule.due_checks(NOW) == []
    assert schedule.due_checks(NOW + timedelta(days=5)) == [url.pk]


def test_the_removed_interval_is_a_setting(case: Case, settings) -> None:  # type: ignore[no-untyped-def]
    settings.RECHECK_REMOVED_DAYS = 2
    url = url_in(case, URLStatus.REMOVED, changed=NOW - timedelta(days=3))
    assert schedule.due_checks(NOW) == [url.pk]


def test_a_reappeared_url_is_rechecked_daily(case: Case) -> None:
    url = url_in(case, URLStatus.REAPPEARED, changed=NOW - timedelta(hours=30))
    check(url, NOW - timedelta(hours=23))
    assert schedule.due_checks(NOW) == []
    assert schedule.due_checks(NOW + timedelta(hours=1)) == [url.pk]


def test_other_states_without_a_passed_deadline_are_not_due(case: Case) -> None:
    for status in (URLStatus.REPORTED, URLStatus.NOTICE_SENT, URLStatus.STILL_UP, URLStatus.ESCALATED):
        url_in(case, status, changed=NOW - timedelta(days=60))
    assert schedule.due_checks(NOW) == []


def test_deadlines_go_first(case: Case, platform: Platform) -> None:
    removed = url_in(case, URLStatus.REMOVED, changed=NOW - timedelta(days=30))
    reappeared = url_in(case, URLStatus.REAPPEARED, changed=NOW - timedelta(days=30))
    waiting = url_in(case, URLStatus.NOTICE_SENT)
    notice(waiting, platform, NOW - timedelta(hours=1), sent_at=NOW - timedelta(days=2))
    assert schedule.due_checks(NOW) == [waiting.pk, reappeared.pk, removed.pk]


# --- the minors path -------------------------------------------------------------------


def test_a_minors_path_url_is_never_due(minor_case: Case, platform: Platform) -> None:
    removed = url_in(minor_case, URLStatus.REMOVED, changed=NOW - timedelta(days=30))
    reappeared = url_in(minor_case, URLStatus.REAPPEARED, changed=NOW - timedelta(days=30))
    waiting = url_in(minor_case, URLStatus.NOTICE_SENT)
    notice(waiting, platform, NOW - timedelta(hours=1), sent_at=NOW - timedelta(days=2))
    assert {removed.pk, reappeared.pk, waiting.pk}.isdisjoint(schedule.due_checks(NOW))
    assert schedule.due_checks(NOW + timedelta(days=365)) == []


def test_a_minors_path_url_is_never_queued(minor_case: Case, sent: list[int]) -> None:
    url_in(minor_case, URLStatus.REMOVED, changed=NOW - timedelta(days=30))
    assert schedule.enqueue_due_checks(NOW) == []
    assert sent == []


# --- back-off on errors --------------------------------------------------------------


def test_backoff_doubles_and_caps(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CHECK_BACKOFF_MINUTES = 30
    settings.CHECK_BACKOFF_MAX_MINUTES = 24 * 60
    assert schedule.backoff(0) == timedelta(0)
    assert [schedule.backoff(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (30, 60, 120, 240)]
    assert schedule.backoff(6) == timedelta(minutes=960)
    assert schedule.backoff(7) == timedelta(hours=24)
    assert schedule.backoff(10_000) == timedelta(hours=24)


@pytest.mark.parametrize(("errors", "wait"), [(1, 30), (2, 60), (3, 120), (7, 24 * 60), (9, 24 * 60)])
def test_consecutive_errors_push_the_next_check_back(case: Case, errors: int, wait: int) -> None:
    url = url_in(case, URLStatus.REMOVED, changed=NOW - timedelta(days=30))
    check(url, NOW - timedelta(days=20), Outcome.GONE)
    last = NOW - timedelta(hours=1)
    for n in range(errors):
        check(url, last - timedelta(minutes=n), Outcome.ERROR)
    assert schedule.due_checks(last + timedelta(minutes=wait) - timedelta(seconds=1)) == []
    assert schedule.due_checks(last + timedelta(minutes=wait)) == [url.pk]


def test_only_errors_since_the_last_conclusive_check_count(case: Case) -> None:
    url = url_in(case, URLStatus.REMOVED, changed=NOW - timedelta(days=30))
    for days in (20, 19, 18):
        check(url, NOW - timedelta(days=days), Outcome.ERROR)
    check(url, NOW - timedelta(days=10), Outcome.GONE)
    check(url, NOW - timedelta(hours=1), Outcome.ERROR)  # one error since: 30 minutes
    assert schedule.due_checks(NOW - timedelta(minutes=31)) == []
    assert schedule.due_checks(NOW - timedelta(minutes=30)) == [url.pk]


def test_an_error_is_not_a_check_for_the_deadline(case: Case, platform: Platform) -> None:
    url = url_in(case, URLStatus.NOTICE_SENT)
    notice(url, platform, NOW - timedelta(hours=3), sent_at=NOW - timedelta(days=2))
    check(url, NOW - timedelta(minutes=10), Outcome.ERROR)
    assert schedule.due_checks(NOW) == []
    assert schedule.due_checks(NOW + timedelta(minutes=20)) == [url.pk]


# --- the per-host limit ----------------------------------------------------------------


def test_the_per_host_limit_leaves_the_rest_for_the_next_run(case: Case, sent: list[int], settings) -> None:  # type: ignore[no-untyped-def]
    settings.CHECK_PER_HOST_PER_MINUTE = 3
    busy = [url_in(case, URLStatus.REMOVED, changed=NOW - timedelta(days=30 - i)) for i in range(5)]
    other = url_in(case, URLStatus.REMOVED, changed=NOW - timedelta(days=8), domain="example.org")
    first = schedule.enqueue_due_checks(NOW)
    assert first == sent
    assert first == [busy[0].pk, busy[1].pk, busy[2].pk, other.pk]
    # Within the same minute the domain's budget is spent.
    assert schedule.enqueue_due_checks(NOW + timedelta(seconds=30)) == []
    assert schedule.enqueue_due_checks(NOW + timedelta(minutes=5)) == [busy[3].pk, busy[4].pk]
    assert sorted(sent) == sorted(u.pk for u in [*busy, other])


def test_the_task_queues_what_is_due(case: Case, sent: list[int]) -> None:
    url = url_in(case, URLStatus.REMOVED, changed=timezone.now() - timedelta(days=30))
    assert tasks.recheck_due.apply().get() == 1
    assert sent == [url.pk]
    assert tasks.recheck_due.apply().get() == 0  # claimed: the same run again queues nothing


# --- claims ------------------------------------------------------------------------------


def test_claiming_twice_queues_once(case: Case, sent: list[int]) -> None:
    url = url_in(case, URLStatus.REMOVED, changed=NOW - timedelta(days=30))
    assert schedule.enqueue_due_checks(NOW) == [url.pk]
    assert schedule.enqueue_due_checks(NOW + timedelta(minutes=5)) == []
    assert sent == [url.pk]


def test_two_schedulers_reading_the_same_claim_queue_once(case: Case) -> None:
    url = url_in(case, URLStatus.REMOVED, changed=NOW - timedelta(days=30))
    assert schedule.claim(url.pk, None, NOW) is True
    assert schedule.claim(url.pk, None, NOW) is False  # the row exists now
    assert schedule.claim(url.pk, NOW, NOW + timedelta(hours=2)) is True
    assert schedule.claim(url.pk, NOW, NOW + timedelta(hours=2)) is False  # the claim moved on
    assert CheckClaim.objects.get(reported_url=url).claimed_at == NOW + timedelta(hours=2)


def test_a_concurrent_run_loses_the_race_quietly(case: Case, sent: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    url = url_in(case, URLStatus.REMOVED, changed=NOW - timedelta(days=30))
    real_due = schedule._due

    def due_then_raced(now: datetime) -> list[schedule.Due]:
        found = real_due(now)
        schedule.claim(url.pk, None, now)  # another scheduler claims it between the read and the update
        return found

    monkeypatch.setattr(schedule, "_due", due_then_raced)
    assert schedule.enqueue_due_checks(NOW) == []
    assert sent == []


def test_a_check_after_the_claim_frees_the_url_for_the_rules(case: Case, sent: list[int]) -> None:
    url = url_in(case, URLStatus.REMOVED, changed=NOW - timedelta(days=30))
    assert schedule.enqueue_due_checks(NOW) == [url.pk]
    check(url, NOW + timedelta(minutes=1), Outcome.GONE)
    assert schedule.enqueue_due_checks(NOW + timedelta(days=6)) == []
    assert schedule.enqueue_due_checks(NOW + timedelta(days=7, minutes=1)) == [url.pk]


def test_a_lost_check_is_queued_again_after_the_claim_expires(case: Case, sent: list[int], settings) -> None:  # type: ignore[no-untyped-def]
    settings.CHECK_CLAIM_MINUTES = 60
    url = url_in(case, URLStatus.REMOVED, changed=NOW - timedelta(days=30))
    assert schedule.enqueue_due_checks(NOW) == [url.pk]
    assert schedule.enqueue_due_checks(NOW + timedelta(minutes=59)) == []
    assert schedule.enqueue_due_checks(NOW + timedelta(minutes=60)) == [url.pk]


def test_a_check_the_broker_refused_is_released(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    url = url_in(case, URLStatus.REMOVED, changed=NOW - timedelta(days=30))

    def broker_down(url_id: int) -> None:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.check_url, "delay", broker_down)
    assert schedule.enqueue_due_checks(NOW) == []
    assert not CheckClaim.objects.filter(reported_url=url).exists()
    assert schedule.due_checks(NOW) == [url.pk]


def test_the_beat_schedule_runs_the_task(settings) -> None:  # type: ignore[no-untyped-def]
    [entry] = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "monitoring.tasks.recheck_due"]
    assert entry["schedule"] == settings.RECHECK_EVERY_SECONDS == 300
