"""The check_url task: thin, idempotent, retrying only what is transient."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from cases.models import Case
from monitoring import services, tasks
from monitoring.fetcher import FetchError, FetchResult
from monitoring.models import Outcome, URLCheck
from monitoring.tasks import check_url
from redress.celery import app as celery_app
from tests.factories import ReportedURLFactory
from tests.monitoring.doubles import LocalServer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fetch_settings(settings) -> None:  # type: ignore[no-untyped-def]
    settings.FETCH_ALLOW_LOOPBACK = True
    settings.FETCH_TOTAL_TIMEOUT = 5


@pytest.fixture
def eager_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let eager mode run the retries in-process instead of raising Retry to the caller.

    With task_eager_propagates (our setting), celery raises the Retry exception
    from apply(); without it, apply() runs each retry at once, as a worker would
    after the countdown.
    """
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", False)


def test_it_checks_the_url(case: Case, local_server: LocalServer) -> None:
    url = ReportedURLFactory(case=case, url=local_server.url("/ok"))
    check_url.delay(url.pk)
    [check] = URLCheck.objects.filter(reported_url=url)
    assert check.outcome == Outcome.REACHABLE
    assert check_url(url.pk) != check.pk  # a second run is a second observation, not a crash


def test_a_deleted_url_is_not_an_error(case: Case) -> None:
    assert check_url.apply(args=[987654321]).get() is None


def test_a_fetch_error_is_an_outcome_not_a_retry(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def failing_fetch(url: str, **kwargs: object) -> FetchResult:
        calls.append(url)
        raise FetchError("Could not connect to example.org.", code="connect")

    monkeypatch.setattr(services, "fetch", failing_fetch)
    url = ReportedURLFactory(case=case)
    result = check_url.apply(args=[url.pk])
    assert result.successful()
    assert len(calls) == 1
    assert URLCheck.objects.get(reported_url=url).outcome == Outcome.ERROR


def test_a_database_hiccup_is_retried(case: Case, monkeypatch: pytest.MonkeyPatch, eager_retries: None) -> None:
    real = services.check_reported_url
    calls: list[int] = []

    def flaky(url_id: int) -> URLCheck | None:
        calls.append(url_id)
        if len(calls) < 3:
            raise OperationalError("database is locked")
        return real(url_id)

    monkeypatch.setattr(tasks, "check_reported_url", flaky)
    monkeypatch.setattr(services, "fetch", lambda url, **kw: FetchResult(200, url, "", b"", 0, False))
    url = ReportedURLFactory(case=case)
    result = check_url.apply(args=[url.pk])
    assert result.successful()
    assert len(calls) == 3
    assert URLCheck.objects.filter(reported_url=url).count() == 1


def test_it_gives_up_after_three_retries(case: Case, monkeypatch: pytest.MonkeyPatch, eager_retries: None) -> None:
    calls: list[int] = []

    def broken(url_id: int) -> URLCheck | None:
        calls.append(url_id)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(tasks, "check_reported_url", broken)
    result = check_url.apply(args=[1])
    assert result.failed()
    assert isinstance(result.result, OperationalError)
    assert len(calls) == 4  # the first run and three retries


def test_the_task_is_declared_for_redelivery() -> None:
    assert check_url.acks_late is True
    assert check_url.max_retries == 3
    assert check_url.autoretry_for == tasks.TRANSIENT_ERRORS


def test_adding_a_url_to_a_case_queues_its_check(
    case: Case, advocate, local_server: LocalServer, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    from cases.services import add_urls

    with django_capture_on_commit_callbacks(execute=True):
        result = add_urls(case, [local_server.url("/ok")], actor=advocate)
    [url] = result.added
    assert URLCheck.objects.get(reported_url=url).outcome == Outcome.REACHABLE
    assert [seen.path for seen in local_server.seen] == ["/ok"]


def test_adding_a_url_to_a_minors_case_queues_nothing(
    minor_case: Case, advocate, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    from cases.services import add_urls

    monkeypatch.setattr(services, "fetch", lambda *a, **k: pytest.fail("A minors-path URL was fetched"))
    with django_capture_on_commit_callbacks(execute=True):
        add_urls(minor_case, ["https://example.org/a"], actor=advocate)
    assert not URLCheck.objects.exists()
