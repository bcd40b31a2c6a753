"""check_reported_url: what a liveness check records, and what it must never do."""

from __future__ import annotations

import hashlib

import pytest

from cases.models import Case, Event, ReportedURL
from monitoring import services
from monitoring.fetcher import FetchError, FetchResult
from monitoring.models import Outcome, URLCheck
from monitoring.services import LIVENESS_MAX_BYTES, check_reported_url, outcome_for_status
from tests.factories import ReportedURLFactory
from tests.monitoring.doubles import LocalServer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fetch_settings(loopback_fetch_settings: None) -> None:
    """Every check in this module fetches from the local server."""


def _url(case: Case, server: LocalServer, path: str) -> ReportedURL:
    return ReportedURLFactory(case=case, url=server.url(path), domain="127.0.0.1")


def _never_fetch(*args: object, **kwargs: object) -> FetchResult:
    pytest.fail("A URL on the minors path was fetched")


def _events(case: Case, action: str) -> list[Event]:
    return list(Event.objects.filter(case=case, action=action))


def test_a_reachable_page_is_recorded_with_its_digest(case: Case, local_server: LocalServer) -> None:
    url = _url(case, local_server, "/ok")
    check = check_reported_url(url.pk)
    assert check is not None
    assert check.reported_url == url
    assert check.outcome == Outcome.REACHABLE
    assert check.http_status == 200
    assert check.final_url == url.url
    assert check.content_type == "text/plain; charset=utf-8"
    assert check.bytes_read == 5
    assert check.content_sha256 == hashlib.sha256(b"hello").hexdigest()
    assert check.error == ""
    [event] = _events(case, "url.checked")
    assert event.actor is None
    assert event.data == {
        "url_id": url.pk,
        "check_id": check.pk,
        "outcome": "reachable",
        "http_status": 200,
        "error_code": "",
        "truncated": False,
        "match": "no_hashes",
        "match_distance": None,
    }
    assert check.match == "no_hashes"  # a case without hashes gets liveness only


@pytest.mark.parametrize(
    ("path", "outcome", "status"),
    [
        ("/status/404", Outcome.GONE, 404),
        ("/status/410", Outcome.GONE, 410),
        ("/status/500", Outcome.ERROR, 500),
        ("/status/403", Outcome.ERROR, 403),
        ("/chain/2", Outcome.REACHABLE, 200),
    ],
)
def test_the_status_decides_the_outcome(
    case: Case, local_server: LocalServer, path: str, outcome: Outcome, status: int
) -> None:
    check = check_reported_url(_url(case, local_server, path).pk)
    assert check is not None
    assert (check.outcome, check.http_status) == (outcome, status)
    assert _events(case, "url.checked")[0].data["outcome"] == outcome


def test_a_refused_address_is_recorded_as_refused(case: Case, local_server: LocalServer, settings) -> None:  # type: ignore[no-untyped-def]
    settings.FETCH_ALLOW_LOOPBACK = False
    url = _url(case, local_server, "/ok")
    check = check_reported_url(url.pk)
    assert check is not None
    assert check.outcome == Outcome.REFUSED
    assert check.http_status is None
    assert "never fetched" in check.error
    assert local_server.seen == []
    assert _events(case, "url.checked")[0].data["error_code"] == "address"


def test_a_fetch_error_is_recorded_as_an_error(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    def timeout(*args: object, **kwargs: object) -> FetchResult:
        raise FetchError("The site did not answer within 30 seconds.", code="timeout")

    monkeypatch.setattr(services, "fetch", timeout)
    url = ReportedURLFactory(case=case)
    check = check_reported_url(url.pk)
    assert check is not None
    assert check.outcome == Outcome.ERROR
    assert check.error == "The site did not answer within 30 seconds."
    assert _events(case, "url.checked")[0].data["error_code"] == "timeout"


def test_a_redirect_loop_is_recorded_as_an_error(case: Case, local_server: LocalServer) -> None:
    check = check_reported_url(_url(case, local_server, "/loop").pk)
    assert check is not None
    assert check.outcome == Outcome.ERROR
    assert "redirected more than 5 times" in check.error


def test_only_the_first_megabyte_is_read_and_hashed(case: Case, local_server: LocalServer) -> None:
    check = check_reported_url(_url(case, local_server, f"/big?n={LIVENESS_MAX_BYTES + 500_000}").pk)
    assert check is not None
    assert check.bytes_read == LIVENESS_MAX_BYTES
    assert check.content_sha256 == hashlib.sha256(b"x" * LIVENESS_MAX_BYTES).hexdigest()
    assert _events(case, "url.checked")[0].data["truncated"] is True


def test_a_case_on_the_minors_path_is_never_fetched(minor_case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "fetch", _never_fetch)
    url = ReportedURLFactory(case=minor_case)
    assert check_reported_url(url.pk) is None
    assert not URLCheck.objects.exists()
    assert _events(minor_case, "url.checked") == []
    [skipped] = _events(minor_case, "url.check_skipped_minor")
    assert skipped.data == {"url_id": url.pk}


def test_a_case_moved_to_the_minors_path_during_the_fetch_keeps_nothing(
    case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fetch_then_flag(url: str, **kwargs: object) -> FetchResult:
        Case.objects.filter(pk=case.pk).update(minor_path=True)
        return FetchResult(
            status=200, final_url=url, content_type="image/jpeg", body=b"\xff\xd8", bytes_read=2, truncated=False
        )

    monkeypatch.setattr(services, "fetch", fetch_then_flag)
    url = ReportedURLFactory(case=case)
    assert check_reported_url(url.pk) is None
    assert not URLCheck.objects.exists()
    assert len(_events(case, "url.check_skipped_minor")) == 1


def test_a_deleted_url_is_skipped_quietly(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "fetch", _never_fetch)
    url = ReportedURLFactory(case=case)
    url_id = url.pk
    url.delete()
    assert check_reported_url(url_id) is None
    assert check_reported_url(987654321) is None
    assert not URLCheck.objects.exists()
    assert not Event.objects.filter(action__startswith="url.check").exists()


def test_a_url_deleted_during_the_fetch_is_skipped_quietly(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    def fetch_then_delete(url: str, **kwargs: object) -> FetchResult:
        ReportedURL.objects.filter(url=url).delete()
        return FetchResult(status=200, final_url=url, content_type="", body=b"", bytes_read=0, truncated=False)

    monkeypatch.setattr(services, "fetch", fetch_then_delete)
    assert check_reported_url(ReportedURLFactory(case=case).pk) is None
    assert not URLCheck.objects.exists()


def test_checking_twice_appends_two_observations(case: Case, local_server: LocalServer) -> None:
    url = _url(case, local_server, "/ok")
    first = check_reported_url(url.pk)
    second = check_reported_url(url.pk)
    assert first is not None and second is not None
    assert first.pk != second.pk
    assert url.checks.count() == 2
    assert len(_events(case, "url.checked")) == 2


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.REACHABLE),
        (204, Outcome.REACHABLE),
        (304, Outcome.REACHABLE),
        (404, Outcome.GONE),
        (410, Outcome.GONE),
        (401, Outcome.ERROR),
        (403, Outcome.ERROR),
        (429, Outcome.ERROR),
        (451, Outcome.ERROR),
        (500, Outcome.ERROR),
        (503, Outcome.ERROR),
    ],
)
def test_only_404_and_410_count_as_gone(status: int, outcome: Outcome) -> None:
    assert outcome_for_status(status) == outcome
