"""URL checks: fetch a reported URL through the safe fetcher, match its media, append what was seen."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction

from cases.models import Case, ReportedURL
from cases.services import record_event
from hashing.models import Algorithm, Hash, MediaItem

from . import lifecycle
from .fetcher import FetchFailed, FetchRefused, FetchResult, fetch, policy_from_settings
from .media import Examination, Limits, ReferenceHash, References, examine
from .models import Match, Outcome, URLCheck
from .pages import kind_of

logger = logging.getLogger(__name__)

# A page is read only as far as it is worth parsing for media (and digested
# as evidence); media itself is read up to FETCH_MAX_BYTES. A megabyte holds
# the head and the first screens of any real page and keeps a worker small.
LIVENESS_MAX_BYTES = 1024 * 1024
DEFAULT_MAX_CANDIDATES = 20
# Candidates are fetched one after another (gentler on the site than all at
# once); this bounds a whole check, so a page of slow images cannot hold a
# worker past the broker's visibility timeout.
DEFAULT_MAX_CHECK_SECONDS = 120

_GONE_STATUSES = frozenset({404, 410})
_MAX_ERROR = URLCheck._meta.get_field("error").max_length or 500
_MAX_URL = URLCheck._meta.get_field("final_url").max_length or 2048
_MAX_CONTENT_TYPE = URLCheck._meta.get_field("content_type").max_length or 200


def check_limits() -> Limits:
    """The content match's limits from settings; each has a default, so none is required."""
    return Limits(
        max_candidates=int(getattr(settings, "CHECK_MAX_CANDIDATES", DEFAULT_MAX_CANDIDATES)),
        max_pixels=int(getattr(settings, "HASHING_MAX_PIXELS", 64_000_000)),
        max_seconds=float(getattr(settings, "CHECK_MAX_SECONDS", DEFAULT_MAX_CHECK_SECONDS)),
    )


def max_html_bytes() -> int:
    return int(getattr(settings, "CHECK_MAX_HTML_BYTES", LIVENESS_MAX_BYTES))


def outcome_for_status(status: int) -> Outcome:
    """What an HTTP status means for a takedown: only 404 and 410 count as gone.

    A false "gone" could make someone stop pursuing content that is still up,
    so everything ambiguous (403, 429, 451 which may be a regional block, 5xx)
    is an error to look at again, never a removal.
    """
    if 200 <= status < 400:
        return Outcome.REACHABLE
    if status in _GONE_STATUSES:
        return Outcome.GONE
    return Outcome.ERROR


def check_reported_url(url_id: int) -> URLCheck | None:
    """Fetch one reported URL, match its media, append a URLCheck row; None when nothing was checked.

    1. Load the URL and its case; a URL deleted since it was queued is not an
       error (the task may be redelivered long after), so return None.
    2. Minors path (DESIGN.md principle 2): never fetch. Record
       "url.check_skipped_minor" so the timeline shows the check was withheld
       on purpose, not lost, and return None.
    3. Fetch, outside any transaction (never hold a database transaction
       open across the network): a page up to CHECK_MAX_HTML_BYTES, an image
       or video up to FETCH_MAX_BYTES.
    4. If the site answered 2xx, examine the content (`media.examine`):
       candidates fetched, hashed in memory and compared with the case's
       hashes, re-checking the minors path before each fetch.
    5. In one transaction, lock the URL row, re-check it still exists and is
       still not on the minors path (the case may have changed meanwhile),
       append the check and the "url.checked" event, and make the lifecycle
       move the check calls for ("url.status_changed").

    A redelivered task appends another row: each check is a new observation.
    The lifecycle move is idempotent (a second "gone" finds it removed).
    """
    reported = ReportedURL.objects.select_related("case").filter(pk=url_id).first()
    if reported is None:
        return None
    if reported.case.minor_path:
        _record_skipped_minor(reported)
        return None
    case_id = reported.case_id

    def allowed() -> bool:
        return Case.objects.filter(pk=case_id, minor_path=False).exists()

    policy = policy_from_settings()
    html_cap = max_html_bytes()
    result: FetchResult | None = None
    failure: FetchFailed | None = None
    try:
        result = fetch(
            reported.url, policy=policy, max_bytes_for=lambda ct: policy.max_bytes if kind_of(ct) else html_cap
        )
    except FetchFailed as exc:
        failure = exc

    examination: Examination | None = None
    if result is not None and 200 <= result.status < 300 and allowed():
        examination = _examine(result, case_id, allowed)
    page = _page_fields(result, failure)
    truncated = bool(result is not None and result.truncated)
    del result  # from here on only digests and numbers

    with transaction.atomic():
        locked = ReportedURL.objects.select_for_update().select_related("case").filter(pk=url_id).first()
        if locked is None:
            return None
        if locked.case.minor_path:
            # Drop what was read unhashed: nothing from a minors-path URL is kept.
            _record_skipped_minor(locked)
            return None
        check = URLCheck.objects.create(reported_url=locked, **page, **_match_fields(examination, case_id))
        record_event(
            locked.case,
            "url.checked",
            actor=None,
            url_id=locked.pk,
            check_id=check.pk,
            outcome=check.outcome,
            http_status=check.http_status,
            error_code=failure.code if failure else "",
            truncated=truncated,
            match=check.match,
            match_distance=check.match_distance,
        )
        moved = lifecycle.apply_check(locked, check)
    logger.info(
        "url check url_id=%s outcome=%s http_status=%s match=%s status=%s",
        url_id,
        check.outcome,
        check.http_status,
        check.match or "-",
        moved.status if moved else "unchanged",
    )
    return check


def _examine(result: FetchResult, case_id: int, allowed: Callable[[], bool]) -> Examination:
    """The content match, contained: a bug in it must not cost the liveness evidence already in hand.

    Each candidate's own failures are outcomes already (see `media`); this
    catches only the unexpected, logs it (no content is ever in the message:
    the fetch result keeps its body out of reprs) and records the match as
    inconclusive, which moves nothing in the lifecycle.
    """
    try:
        return examine(
            result, case_references(case_id), fetch_candidate=_fetch_candidate, limits=check_limits(), allowed=allowed
        )
    except DatabaseError:
        raise  # transient, and the task retries it: not a fact about the content
    except Exception:  # see the docstring; the traceback goes to the log
        logger.exception("content match failed case_id=%s", case_id)
        return Examination(match=Match.INCONCLUSIVE)


def case_references(case_id: int) -> References:
    """The case's stored PDQ and pHash hashes, as the content match compares them."""
    rows = Hash.objects.filter(media__case_id=case_id, algorithm__in=[Algorithm.PDQ, Algorithm.PHASH]).values_list(
        "algorithm", "media_id", "value", "quality"
    )
    pdq: list[ReferenceHash] = []
    phash: list[ReferenceHash] = []
    for algorithm, media_id, value, quality in rows:
        (pdq if algorithm == Algorithm.PDQ else phash).append(ReferenceHash(media_id, value, quality))
    return References(pdq=tuple(pdq), phash=tuple(phash))


def _fetch_candidate(url: str, seconds: float) -> FetchResult:
    """One candidate through the safe fetcher, within the check's remaining time."""
    policy = policy_from_settings()
    return fetch(url, policy=replace(policy, total_timeout=max(min(policy.total_timeout, seconds), 0.001)))


def _page_fields(result: FetchResult | None, failure: FetchFailed | None) -> dict[str, Any]:
    """The check row's liveness fields: what was served, its digest, never its bytes."""
    if result is None:
        outcome = Outcome.REFUSED if isinstance(failure, FetchRefused) else Outcome.ERROR
        message = str(failure) if failure else "The URL could not be checked."
        return {"outcome": outcome, "error": message[:_MAX_ERROR]}
    outcome = outcome_for_status(result.status)
    return {
        "outcome": outcome,
        "http_status": result.status,
        "final_url": result.final_url[:_MAX_URL],
        "content_type": result.content_type[:_MAX_CONTENT_TYPE],
        "bytes_read": result.bytes_read,
        "content_sha256": hashlib.sha256(result.body).hexdigest(),
        "error": "" if outcome != Outcome.ERROR else f"The site answered with HTTP {result.status}.",
    }


# Verdicts that name the stored media they rest on; a "not found" keeps only the distance.
_NAMED = frozenset({Match.MATCHED, Match.REVIEW})


def _match_fields(examination: Examination | None, case_id: int) -> dict[str, Any]:
    if examination is None:
        return {}
    best = examination.decisive
    media_id = best.media_id if best is not None and examination.match in _NAMED else None
    if media_id is not None and not MediaItem.objects.filter(pk=media_id, case_id=case_id).exists():
        media_id = None  # deleted during the check (the survivor may delete media at any time)
    return {
        "match": examination.match,
        "match_media_id": media_id,
        "match_algorithm": best.algorithm if best is not None else "",
        "match_distance": best.distance if best is not None else None,
        "candidates_found": examination.found,
        "candidates_examined": examination.examined,
        "candidates_failed": examination.failed,
        "candidates": examination.candidates,
    }


def _record_skipped_minor(reported: ReportedURL) -> None:
    record_event(reported.case, "url.check_skipped_minor", actor=None, url_id=reported.pk)
