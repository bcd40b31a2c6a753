"""Celery tasks for monitoring: thin wrappers that take ids and call services."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from .schedule import enqueue_due_checks
from .services import check_reported_url

# Only the database can fail transiently here: a fetch that fails is an
# outcome (recorded as "error" or "refused"), and when to look again is the
# re-check schedule's decision, not a retry's.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


@shared_task(
    acks_late=True,
    autoretry_for=TRANSIENT_ERRORS,
    max_retries=3,
    retry_backoff=5,
    retry_backoff_max=120,
    retry_jitter=True,
    ignore_result=True,
)
def check_url(url_id: int) -> int | None:
    """Check one reported URL; returns the new check's id, or None if nothing was checked.

    Safe to run twice (acks_late redelivery): each run appends one more
    observation, and a URL deleted meanwhile is skipped quietly.
    """
    check = check_reported_url(url_id)
    return check.pk if check is not None else None


@shared_task(
    acks_late=True,
    autoretry_for=TRANSIENT_ERRORS,
    max_retries=3,
    retry_backoff=5,
    retry_backoff_max=60,
    ignore_result=True,
)
def recheck_due() -> int:
    """The periodic re-check (CELERY_BEAT_SCHEDULE): queue the checks due now; returns how many.

    Idempotent: each URL is claimed before it is queued, so a redelivered or
    overlapping run queues nothing twice (`schedule.enqueue_due_checks`).
    """
    return len(enqueue_due_checks(timezone.now()))
