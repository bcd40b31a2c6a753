"""URL checks: fetch a reported URL through the safe fetcher and append what was seen."""

from __future__ import annotations

import hashlib
import logging

from django.db import transaction

from cases.models import ReportedURL
from cases.services import record_event

from .fetcher import FetchFailed, FetchRefused, FetchResult, fetch, policy_from_settings
from .models import Outcome, URLCheck

logger = logging.getLogger(__name__)

# Liveness needs the status, plus a digest of what was served as evidence;
# a megabyte is enough for the page itself and keeps a worker's memory small.
LIVENESS_MAX_BYTES = 1024 * 1024

_GONE_STATUSES = frozenset({404, 410})
_MAX_ERROR = URLCheck._meta.get_field("error").max_length or 500
_MAX_URL = URLCheck._meta.get_field("final_url").max_length or 2048
_MAX_CONTENT_TYPE = URLCheck._meta.get_field("content_type").max_length or 200


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
    """Fetch one reported URL and append a URLCheck row; None when nothing was checked.

    1. Load the URL and its case; a URL deleted since it was queued is not an
       error (the task may be redelivered long after), so return None.
    2. Minors path (DESIGN.md principle 2): never fetch. Record
       "url.check_skipped_minor" so the timeline shows the check was withheld
       on purpose, not lost, and return None.
    3. Fetch with the liveness byte cap, outside any transaction (never hold
       a database transaction open across the network).
    4. In one transaction, lock the URL row, re-check it still exists and is
       still not on the minors path (the case may have changed during the
       fetch), hash the body, append the check and the "url.checked" event.

    A redelivered task simply appends another row: each check is a new
    observation, so duplicates are harmless.
    """
    reported = ReportedURL.objects.select_related("case").filter(pk=url_id).first()
    if reported is None:
        return None
    if reported.case.minor_path:
        _record_skipped_minor(reported)
        return None

    result: FetchResult | None = None
    failure: FetchFailed | None = None
    try:
        result = fetch(reported.url, policy=policy_from_settings(max_bytes=LIVENESS_MAX_BYTES))
    except FetchFailed as exc:
        failure = exc

    with transaction.atomic():
        locked = ReportedURL.objects.select_for_update().select_related("case").filter(pk=url_id).first()
        if locked is None:
            return None
        if locked.case.minor_path:
            # Drop what was read unhashed: nothing from a minors-path URL is kept.
            _record_skipped_minor(locked)
            return None
        check = _append_check(locked, result, failure)
        record_event(
            locked.case,
            "url.checked",
            actor=None,
            url_id=locked.pk,
            check_id=check.pk,
            outcome=check.outcome,
            http_status=check.http_status,
            error_code=failure.code if failure else "",
            truncated=bool(result and result.truncated),
        )
    logger.info("url check url_id=%s outcome=%s http_status=%s", url_id, check.outcome, check.http_status)
    return check


def _append_check(reported: ReportedURL, result: FetchResult | None, failure: FetchFailed | None) -> URLCheck:
    if result is None:
        outcome = Outcome.REFUSED if isinstance(failure, FetchRefused) else Outcome.ERROR
        message = str(failure) if failure else "The URL could not be checked."
        return URLCheck.objects.create(reported_url=reported, outcome=outcome, error=message[:_MAX_ERROR])
    outcome = outcome_for_status(result.status)
    return URLCheck.objects.create(
        reported_url=reported,
        outcome=outcome,
        http_status=result.status,
        final_url=result.final_url[:_MAX_URL],
        content_type=result.content_type[:_MAX_CONTENT_TYPE],
        bytes_read=result.bytes_read,
        content_sha256=hashlib.sha256(result.body).hexdigest(),
        error="" if outcome != Outcome.ERROR else f"The site answered with HTTP {result.status}.",
    )


def _record_skipped_minor(reported: ReportedURL) -> None:
    record_event(reported.case, "url.check_skipped_minor", actor=None, url_id=reported.pk)
