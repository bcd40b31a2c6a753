"""The re-check schedule: which reported URLs are due for another look, queued gently.

A URL is due when (never on the minors path, DESIGN.md principle 2):

(a) a sent notice covering it has passed its deadline and nothing was seen
    of it since that deadline (not removed already);
(b) it is removed and was last seen RECHECK_REMOVED_DAYS ago (reappearance);
(c) it reappeared and was last seen RECHECK_REAPPEARED_HOURS ago.

"Seen" is the last conclusive check (anything but an error); for (b) and (c)
a status change counts too, so a removal a person confirmed yesterday is not
re-checked today. Errors are retried with exponential back-off: after n
consecutive errors a URL waits CHECK_BACKOFF_MINUTES * 2**(n-1), at most
CHECK_BACKOFF_MAX_MINUTES, after the last one.

`enqueue_due_checks` sends at most CHECK_PER_HOST_PER_MINUTE checks per
registrable domain per run (less what was sent to it in the last minute) and
leaves the rest for the next run; each URL is claimed first (`claim`), so
running it twice at once, or twice in a row, queues each URL once.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, DateTimeField, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Greatest

from cases.models import ReportedURL, URLStatus
from notices.models import Notice

from .models import CheckClaim, Outcome, URLCheck

logger = logging.getLogger(__name__)

# Stands in for "never" so comparisons need no NULL handling (SQLite's MAX()
# and Greatest() return NULL if any argument is NULL).
NEVER = datetime(1970, 1, 1, tzinfo=UTC)

# Rule order is priority order: what a deadline waits on goes first.
DEADLINE, REAPPEARED, REMOVED = "deadline", "reappeared", "removed"
_PRIORITY = {DEADLINE: 0, REAPPEARED: 1, REMOVED: 2}


@dataclass(frozen=True)
class Due:
    url_id: int
    domain: str
    rule: str
    claimed_at: datetime | None  # the claim as read, for the conditional update


def _minutes(name: str, default: int) -> timedelta:
    return timedelta(minutes=int(getattr(settings, name, default)))


def removed_interval() -> timedelta:
    return timedelta(days=int(getattr(settings, "RECHECK_REMOVED_DAYS", 7)))


def reappeared_interval() -> timedelta:
    return timedelta(hours=int(getattr(settings, "RECHECK_REAPPEARED_HOURS", 24)))


def claim_ttl() -> timedelta:
    return _minutes("CHECK_CLAIM_MINUTES", 60)


def per_host_per_minute() -> int:
    return max(int(getattr(settings, "CHECK_PER_HOST_PER_MINUTE", 6)), 0)


def backoff(errors: int) -> timedelta:
    """How long to wait after `errors` consecutive errors: base * 2**(n-1), capped; none without errors."""
    if errors <= 0:
        return timedelta(0)
    base = _minutes("CHECK_BACKOFF_MINUTES", 30)
    cap = _minutes("CHECK_BACKOFF_MAX_MINUTES", 24 * 60)
    # Bound the exponent so a URL that failed for a year does not build a huge integer.
    return min(base * 2 ** min(errors - 1, 32), cap)


def _when(value: datetime) -> Value:
    return Value(value, output_field=DateTimeField())


def _candidates(now: datetime) -> QuerySet[ReportedURL]:
    """Non-minors URLs that one of the rules makes due, ignoring back-off and claims (applied after)."""
    checks = URLCheck.objects.filter(reported_url=OuterRef("pk")).order_by("-checked_at", "-id")
    last_seen = checks.exclude(outcome=Outcome.ERROR).values("checked_at")[:1]
    last_check = checks.values("checked_at")[:1]
    deadline = (
        Notice.objects.filter(
            urls=OuterRef("pk"), sent_at__isnull=False, deadline_at__isnull=False, deadline_at__lte=now
        )
        .order_by("-deadline_at")
        .values("deadline_at")[:1]
    )
    errors_since_seen = (
        URLCheck.objects.filter(reported_url=OuterRef("pk"), outcome=Outcome.ERROR)
        .filter(checked_at__gt=Coalesce(OuterRef("seen_at"), _when(NEVER)))
        .order_by()
        .values("reported_url")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        ReportedURL.objects.filter(case__minor_path=False)
        .annotate(
            seen_at=Subquery(last_seen),
            last_check_at=Subquery(last_check),
            deadline=Subquery(deadline),
        )
        .annotate(
            seen=Coalesce(F("seen_at"), _when(NEVER)),
            settled=Greatest(Coalesce(F("seen_at"), _when(NEVER)), Coalesce(F("status_changed_at"), _when(NEVER))),
            errors=Coalesce(Subquery(errors_since_seen, output_field=IntegerField()), Value(0)),
            claimed_at=F("check_claim__claimed_at"),
        )
        .filter(
            (Q(deadline__isnull=False, seen__lt=F("deadline")) & ~Q(status=URLStatus.REMOVED))
            | Q(status=URLStatus.REMOVED, settled__lte=now - removed_interval())
            | Q(status=URLStatus.REAPPEARED, settled__lte=now - reappeared_interval())
        )
    )


def _due(now: datetime) -> list[Due]:
    ttl = claim_ttl()
    due: list[tuple[int, datetime, Due]] = []
    for url in _candidates(now).only("pk", "domain", "status", "status_changed_at"):
        last_check: datetime | None = url.last_check_at  # type: ignore[attr-defined]
        claimed: datetime | None = url.claimed_at  # type: ignore[attr-defined]
        # A claim is outstanding until a check lands after it (or it expires: the task was lost).
        if claimed is not None and claimed > now - ttl and (last_check is None or last_check < claimed):
            continue
        if last_check is not None and now < last_check + backoff(url.errors):  # type: ignore[attr-defined]
            continue
        if url.status == URLStatus.REMOVED:
            rule = REMOVED
        elif url.deadline is not None and url.seen < url.deadline:  # type: ignore[attr-defined]
            rule = DEADLINE
        else:
            rule = REAPPEARED
        due.append((_PRIORITY[rule], url.seen, Due(url.pk, url.domain, rule, claimed)))  # type: ignore[attr-defined]
    due.sort(key=lambda item: (item[0], item[1], item[2].url_id))
    return [item[2] for item in due]


def due_checks(now: datetime) -> list[int]:
    """The ids of the reported URLs due for a re-check at `now`, most pressing first."""
    return [item.url_id for item in _due(now)]


def claim(url_id: int, seen: datetime | None, now: datetime) -> bool:
    """Claim a URL for a check at `now`; True if this caller won it.

    A conditional update on the claim as the caller read it (`seen`; None:
    no claim row yet): of two schedulers that read the same claim, one
    moves it and the other updates nothing.
    """
    if seen is None:
        try:
            with transaction.atomic():
                CheckClaim.objects.create(reported_url_id=url_id, claimed_at=now)
        except IntegrityError:
            return False  # created meanwhile by another scheduler (or the URL was deleted)
        return True
    return CheckClaim.objects.filter(reported_url_id=url_id, claimed_at=seen).update(claimed_at=now) == 1


def _release(url_id: int, claimed_at: datetime, previous: datetime | None) -> None:
    """Undo a claim whose check could not be sent, so the next run tries again."""
    claims = CheckClaim.objects.filter(reported_url_id=url_id, claimed_at=claimed_at)
    if previous is None:
        claims.delete()
    else:
        claims.update(claimed_at=previous)


def _sent_last_minute(now: datetime) -> Counter[str]:
    recent = (
        CheckClaim.objects.filter(claimed_at__gt=now - timedelta(minutes=1), claimed_at__lte=now)
        .values("reported_url__domain")
        .annotate(n=Count("pk"))
    )
    return Counter({row["reported_url__domain"]: row["n"] for row in recent})


def enqueue_due_checks(now: datetime) -> list[int]:
    """Claim and queue the checks due at `now`, at most CHECK_PER_HOST_PER_MINUTE per domain; the ids queued.

    What a domain's budget leaves out stays due and is queued by a later run.
    If the broker refuses a check, its claim is released and the run stops
    (the next run retries), rather than claiming URLs it cannot queue.
    """
    from redress.tasks import enqueue

    from .tasks import check_url

    limit = per_host_per_minute()
    sent = _sent_last_minute(now)
    queued: list[int] = []
    for item in _due(now):
        if sent[item.domain] >= limit:
            continue
        if not claim(item.url_id, item.claimed_at, now):
            continue
        try:
            enqueue(check_url, item.url_id)
        except Exception:
            _release(item.url_id, now, item.claimed_at)
            logger.exception("could not queue a re-check url_id=%s; stopping this run", item.url_id)
            break
        sent[item.domain] += 1
        queued.append(item.url_id)
    if queued:
        logger.info("re-checks queued count=%s", len(queued))
    return queued
