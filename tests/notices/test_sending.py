"""Sending a signed notice by email: through a real (local) SMTP server, exactly once, with retries."""

from __future__ import annotations

import contextlib
import email
import email.policy
import hashlib
import socket
from collections.abc import Iterator
from email.message import EmailMessage as ParsedMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from cases.errors import CaseError
from cases.models import Event
from notices.models import Notice, NoticeStatus, Platform
from notices.services import create_notice, send_notice_by_email, sign_notice
from notices.tasks import send_notice_email
from redress.celery import app as celery_app
from tests.conftest import login
from tests.factories import ReportedURLFactory

BASIS = "us-take-it-down"
PLATFORM_EMAIL = "ncii@reddit.example"


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], ParsedMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(parsed, ParsedMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp(settings) -> Iterator[tuple[Inbox, Controller]]:  # type: ignore[no-untyped-def]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "notices@redress.example"
    try:
        yield inbox, controller
    finally:
        with contextlib.suppress(AssertionError):  # a test may have stopped it already
            controller.stop()


@pytest.fixture
def reddit(db) -> Platform:  # type: ignore[no-untyped-def]
    platform = Platform.objects.get(slug="reddit")
    platform.ncii_email = PLATFORM_EMAIL
    platform.save()
    return platform


def _signed(case, advocate, platform: Platform, count: int = 2) -> Notice:  # type: ignore[no-untyped-def]
    for n in range(count):
        ReportedURLFactory(case=case, platform=platform, url=f"https://www.reddit.com/r/x/comments/{n}/")
    notice = create_notice(case, platform, BASIS, actor=advocate)
    return sign_notice(notice, actor=advocate, full_name="Alex Advocate", capacity="representative", attested=True)


def _body(message: ParsedMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def test_the_email_carries_exactly_what_was_signed(  # type: ignore[no-untyped-def]
    smtp, case, advocate, reddit, django_capture_on_commit_callbacks
) -> None:
    inbox, _ = smtp
    notice = _signed(case, advocate, reddit)
    with django_capture_on_commit_callbacks(execute=True):
        queued = send_notice_by_email(notice, actor=advocate)
    assert queued.status == NoticeStatus.SENDING
    notice.refresh_from_db()

    assert len(inbox.messages) == 1
    recipients, message = inbox.messages[0]
    assert recipients == [PLATFORM_EMAIL]
    assert message["To"] == PLATFORM_EMAIL
    assert message["From"] == "notices@redress.example"
    assert message["Reply-To"] == advocate.email
    # The subject names the case and the law, never the survivor.
    assert case.reference in message["Subject"] and "TAKE IT DOWN" in message["Subject"]
    assert case.survivor.display_name not in message["Subject"]
    assert _body(message).strip() == notice.frozen_text.strip()
    attachments = list(message.iter_attachments())
    assert len(attachments) == 1
    pdf = attachments[0]
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_filename() == f"notice-{case.reference}-{notice.pk}.pdf"
    assert hashlib.sha256(pdf.get_content()).hexdigest() == notice.pdf_sha256

    assert notice.status == NoticeStatus.SENT
    assert notice.message_id and notice.message_id == message["Message-ID"]
    assert notice.sent_to == PLATFORM_EMAIL
    assert notice.send_attempts == 1 and notice.last_send_error == ""
    assert notice.sent_at is not None and notice.deadline_at is not None
    assert (notice.deadline_at - notice.sent_at).total_seconds() == 48 * 3600
    assert set(notice.urls.values_list("status", flat=True)) == {"notice_sent"}
    emailed = Event.objects.get(case=case, action="notice.emailed")
    assert emailed.data["notice_id"] == notice.pk
    assert PLATFORM_EMAIL not in str(emailed.data) and "Alex" not in str(emailed.data)


def test_a_redelivered_task_sends_once(  # type: ignore[no-untyped-def]
    smtp, case, advocate, reddit, django_capture_on_commit_callbacks
) -> None:
    inbox, _ = smtp
    notice = _signed(case, advocate, reddit)
    with django_capture_on_commit_callbacks(execute=True):
        send_notice_by_email(notice, actor=advocate)
    send_notice_email.apply(args=(notice.pk,))
    send_notice_email.apply(args=(notice.pk,))
    assert len(inbox.messages) == 1
    assert Event.objects.filter(case=case, action="notice.emailed").count() == 1
    notice.refresh_from_db()
    assert notice.send_attempts == 1


def test_an_attempt_in_flight_is_not_sent_again(  # type: ignore[no-untyped-def]
    smtp, case, advocate, reddit, django_capture_on_commit_callbacks
) -> None:
    inbox, _ = smtp
    notice = _signed(case, advocate, reddit)
    with django_capture_on_commit_callbacks(execute=False):
        send_notice_by_email(notice, actor=advocate)
    # Another worker has claimed the attempt (and is sending it).
    Notice.objects.filter(pk=notice.pk).update(message_id="<claimed@redress.example>")
    assert send_notice_email.apply(args=(notice.pk,)).get() is None
    assert inbox.messages == []


def test_a_second_request_is_refused(  # type: ignore[no-untyped-def]
    smtp, case, advocate, reddit, django_capture_on_commit_callbacks
) -> None:
    notice = _signed(case, advocate, reddit)
    with django_capture_on_commit_callbacks(execute=False):
        send_notice_by_email(notice, actor=advocate)
    with pytest.raises(CaseError, match="already being sent"):
        send_notice_by_email(notice, actor=advocate)


def test_an_unsigned_notice_is_refused(case, advocate, reddit) -> None:  # type: ignore[no-untyped-def]
    ReportedURLFactory(case=case, platform=reddit, url="https://www.reddit.com/r/x/comments/0/")
    notice = create_notice(case, reddit, BASIS, actor=advocate)
    with pytest.raises(CaseError, match="Sign the notice"):
        send_notice_by_email(notice, actor=advocate)
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.DRAFT


def test_a_platform_without_email_is_refused(case, advocate, reddit) -> None:  # type: ignore[no-untyped-def]
    reddit.ncii_email = ""
    reddit.save()
    notice = _signed(case, advocate, reddit)
    with pytest.raises(CaseError, match="web form"):
        send_notice_by_email(notice, actor=advocate)
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SIGNED


def test_the_viewer_cannot_send(case, advocate, viewer, reddit) -> None:  # type: ignore[no-untyped-def]
    notice = _signed(case, advocate, reddit)
    with pytest.raises(CaseError):
        send_notice_by_email(notice, actor=viewer)


@pytest.fixture
def eager_retries() -> Iterator[None]:
    """Let eager tasks retry inline, as a worker would (if propagated, Celery raises the Retry to the caller)."""
    previous = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    try:
        yield
    finally:
        celery_app.conf.task_eager_propagates = previous


def test_a_smtp_failure_retries_then_shows_the_error(  # type: ignore[no-untyped-def]
    smtp, eager_retries, case, advocate, reddit, django_capture_on_commit_callbacks
) -> None:
    inbox, controller = smtp
    notice = _signed(case, advocate, reddit)
    controller.stop()  # nothing listens on the port any more
    with django_capture_on_commit_callbacks(execute=True):
        send_notice_by_email(notice, actor=advocate)
    notice.refresh_from_db()
    assert notice.send_attempts == 6  # the first try and five retries
    assert notice.status == NoticeStatus.SIGNED
    assert notice.sent_at is None and notice.deadline_at is None and notice.message_id == ""
    assert "ConnectionRefusedError" in notice.last_send_error
    assert notice.is_frozen and notice.pdf_sha256  # nothing of the signed notice is lost
    assert set(notice.urls.values_list("status", flat=True)) == {"reported"}
    assert Event.objects.filter(case=case, action="notice.email_failed").count() == 1
    page = login(advocate).get(f"/cases/{case.reference}/notices/{notice.pk}/")
    assert "could not be sent after 6 attempts" in page.content.decode()
    assert "ConnectionRefusedError" in page.content.decode()

    # The server is back: sending again works, and the error is cleared.
    again = Controller(inbox, hostname="127.0.0.1", port=controller.port)
    again.start()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            send_notice_by_email(notice, actor=advocate)
    finally:
        again.stop()
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SENT and notice.last_send_error == ""
    assert len(inbox.messages) == 1


def test_the_page_offers_the_button_and_shows_the_message_id(  # type: ignore[no-untyped-def]
    smtp, case, advocate, reddit, django_capture_on_commit_callbacks
) -> None:
    notice = _signed(case, advocate, reddit)
    client = login(advocate)
    page = client.get(f"/cases/{case.reference}/notices/{notice.pk}/").content.decode()
    assert f"Send by email to {PLATFORM_EMAIL}" in page
    assert 'name="method" value="email"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/cases/{case.reference}/notices/{notice.pk}/sent/", {"method": "email"})
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SENT
    page = client.get(response["Location"]).content.decode()
    assert notice.message_id.strip("<>") in page
    assert "Send by email" not in page


def test_the_view_refuses_cleanly_with_400(case, advocate, reddit) -> None:  # type: ignore[no-untyped-def]
    client = login(advocate)
    ReportedURLFactory(case=case, platform=reddit, url="https://www.reddit.com/r/x/comments/0/")
    draft = create_notice(case, reddit, BASIS, actor=advocate)
    response = client.post(f"/cases/{case.reference}/notices/{draft.pk}/sent/", {"method": "email"})
    assert response.status_code == 400
    assert "Sign the notice before sending it." in response.content.decode()

    reddit.ncii_email = ""
    reddit.save()
    signed = sign_notice(draft, actor=advocate, full_name="Alex Advocate", capacity="representative", attested=True)
    response = client.post(f"/cases/{case.reference}/notices/{signed.pk}/sent/", {"method": "email"})
    assert response.status_code == 400
    assert "web form" in response.content.decode()
    signed.refresh_from_db()
    assert signed.status == NoticeStatus.SIGNED


def test_a_form_only_platform_has_no_email_button(case, advocate, reddit) -> None:  # type: ignore[no-untyped-def]
    reddit.ncii_email = ""
    reddit.save()
    notice = _signed(case, advocate, reddit)
    page = login(advocate).get(f"/cases/{case.reference}/notices/{notice.pk}/").content.decode()
    assert "Send by email" not in page
    assert "I have sent it" in page
