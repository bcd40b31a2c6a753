"""Celery tasks for notices: thin wrappers that take ids and call services."""

from __future__ import annotations

import logging
import smtplib

from celery import Task, shared_task
from django.conf import settings
from django.core.mail import get_connection

from .models import Notice
from .services import (
    MAX_SEND_ATTEMPTS,
    build_notice_email,
    claim_email_attempt,
    record_email_failure,
    record_email_sent,
)

logger = logging.getLogger(__name__)

# A mail server that cannot be reached, times out or refuses for now.
SEND_ERRORS = (smtplib.SMTPException, OSError)
BACKOFF_SECONDS = 30  # 30 s, 1, 2, 4, 8 min
BACKOFF_MAX = 15 * 60


def _domain() -> str:
    """The Message-ID's domain: the sender's, so the ID needs no DNS look-up of this host."""
    return settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip("> ") or "localhost"


@shared_task(bind=True, acks_late=True, max_retries=MAX_SEND_ATTEMPTS - 1, ignore_result=True)
def send_notice_email(self: Task, notice_id: int) -> str | None:  # type: ignore[type-arg]
    """Email one signed notice; returns its Message-ID, or None if nothing was sent.

    Safe to deliver twice: each attempt first claims the notice with a
    conditional update, so a redelivered task finds it sent (or an attempt in
    flight) and sends nothing. Mail-server errors are retried with
    exponential back-off; after the last, the notice goes back to "signed"
    with the error shown on its page.
    """
    message_id = claim_email_attempt(notice_id, domain=_domain())
    if message_id is None:
        return None
    notice = Notice.objects.select_related("case", "platform", "signed_by").get(pk=notice_id)
    message = build_notice_email(notice, message_id=message_id)
    try:
        with get_connection(fail_silently=False) as connection:
            message.connection = connection
            message.send()
    except SEND_ERRORS as exc:
        retries = self.request.retries
        final = retries >= (self.max_retries or 0)
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        record_email_failure(notice_id, message_id=message_id, error=error, final=final)
        logger.warning("Sending notice %s failed (attempt %s): %s", notice_id, retries + 1, type(exc).__name__)
        if final:
            return None
        raise self.retry(exc=exc, countdown=min(BACKOFF_SECONDS * 2**retries, BACKOFF_MAX)) from exc
    record_email_sent(notice_id, message_id=message_id)
    return message_id
