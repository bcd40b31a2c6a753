"""Writing notices: generate, sign (and freeze), mark as sent. Each is audited."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, make_msgid
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from cases.errors import CaseError
from cases.models import Case, URLStatus
from cases.services import AnyUser, record_event, require_write, touch, user_or_none
from redress.tasks import enqueue

from .catalogue import Element, LegalBasis, get_basis
from .models import Notice, NoticeStatus, Platform, SignerCapacity
from .render import missing_elements, render_notice_html, render_notice_text, render_pdf

DMCA_BASIS = "us-dmca-512c3"

ELEMENT_LABELS = {
    "signature": "the signature",
    "identification": "the URLs",
    "good_faith": "the good-faith statement",
    "contact": "contact details (an email address or phone number)",
}


def _element(basis: LegalBasis, element_id: str) -> Element:
    return next(e for e in basis.elements if e.id == element_id)


def create_notice(case: Case, platform: Platform, basis_id: str, *, actor: AnyUser) -> Notice:
    """A draft notice to one platform covering every URL of the case on it."""
    require_write(actor, case)
    try:
        basis = get_basis(basis_id)
    except KeyError as exc:
        raise CaseError("That legal basis does not exist.", code="unknown_basis") from exc
    if "search_engine" in basis.recipient_kinds:
        # A delisting request names the pages wherever they are hosted.
        urls = list(case.urls.all())
    else:
        urls = list(case.urls.filter(platform=platform))
    if not urls:
        raise CaseError(f"This case has no URLs on {platform.name} yet.", code="no_urls")
    with transaction.atomic():
        notice = Notice.objects.create(case=case, platform=platform, basis=basis.id, created_by=user_or_none(actor))
        notice.urls.set(urls)
        touch(case)
        record_event(
            case,
            "notice.generated",
            actor=actor,
            notice_id=notice.pk,
            basis=basis.id,
            platform=platform.slug,
            url_count=len(urls),
        )
    return notice


def attestation_text(basis: LegalBasis) -> str:
    """The exact statements the signer attests to, quoted on the signing form."""
    return "\n".join(s.text for s in basis.statements)


def sign_notice(notice: Notice, *, actor: AnyUser, full_name: str, capacity: str, attested: bool) -> Notice:
    """Sign a notice electronically and freeze exactly what was signed.

    1. Check the signer: a typed full name, the attestation ticked, a capacity
       the basis allows, and for a representative the survivor's recorded
       authorisation.
    2. Render HTML and text with the signature; refuse if any required element
       is missing or empty.
    3. Render the PDF, store all three (encrypted) and the PDF's SHA-256.
    The notice row is locked so a double submit signs once.
    """
    case = notice.case
    require_write(actor, case)
    basis = get_basis(notice.basis)
    name = " ".join(full_name.split())
    if len(name) < 2:
        raise CaseError("Type your full name to sign.", code="name_required")
    if not attested:
        raise CaseError("Tick the box to confirm the statements before signing.", code="attestation_required")
    if capacity not in SignerCapacity.values or capacity not in basis.who_may_send:
        raise CaseError("This notice cannot be signed in that capacity.", code="bad_capacity")
    if capacity == SignerCapacity.REPRESENTATIVE and not case.survivor.consent_act_on_behalf:
        raise CaseError(
            "The survivor has not authorised you to act on their behalf. Record their consent on the case first.",
            code="no_authorisation",
        )
    with transaction.atomic():
        locked = Notice.objects.select_for_update().get(pk=notice.pk)
        if locked.is_frozen:
            raise CaseError("This notice is already signed.", code="already_signed")
        locked.signer_name = name
        locked.signer_capacity = capacity
        locked.attestation = attestation_text(basis)
        locked.signed_at = timezone.now()
        locked.signed_by = user_or_none(actor)
        html = render_notice_html(locked)
        missing = missing_elements(basis, html)
        if missing:
            raise CaseError(
                "This notice cannot be signed yet; it lacks "
                + ", ".join(ELEMENT_LABELS.get(m) or _element(basis, m).satisfied_by.rstrip(".") for m in missing)
                + ".",
                code="incomplete",
            )
        pdf = render_pdf(html)
        locked.frozen_html = html
        locked.frozen_text = render_notice_text(locked)
        locked.frozen_pdf_b64 = base64.b64encode(pdf).decode()
        locked.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
        locked.status = NoticeStatus.SIGNED
        locked.save()
        touch(case)
        record_event(
            case,
            "notice.signed",
            actor=actor,
            notice_id=locked.pk,
            basis=locked.basis,
            platform=locked.platform.slug,
            capacity=capacity,
            pdf_sha256=locked.pdf_sha256,
        )
    return locked


def _urls_notice_sent(notice: Notice, actor: AnyUser | None) -> None:
    """Move each covered URL to "notice sent" where its lifecycle allows (a removed URL stays removed)."""
    from monitoring.lifecycle import IllegalTransition, Reason, transition

    for reported in notice.urls.select_for_update():
        if reported.status == URLStatus.NOTICE_SENT:
            continue
        try:
            transition(reported, URLStatus.NOTICE_SENT, actor=actor, reason=Reason.NOTICE_SENT)
        except IllegalTransition:
            continue


def _record_sent(notice: Notice, *, actor: AnyUser | None, sent_at: dt.datetime) -> None:
    """Mark a locked notice sent at `sent_at`, start its deadline and move its URLs (inside a transaction)."""
    basis = get_basis(notice.basis)
    notice.sent_at = sent_at
    # Calendar months (GDPR) and clocks started by someone else (eSafety's
    # own notice) are the catalogue's to work out, not a fixed timedelta.
    notice.deadline_at = basis.deadline.due(sent_at) if basis.deadline else None
    notice.status = NoticeStatus.SENT
    notice.save(update_fields=["sent_at", "deadline_at", "status"])
    _urls_notice_sent(notice, actor)


def mark_notice_sent(notice: Notice, *, actor: AnyUser) -> Notice:
    """Record that the notice went out (e.g. pasted into the platform's form); starts the deadline."""
    require_write(actor, notice.case)
    with transaction.atomic():
        locked = Notice.objects.select_for_update().get(pk=notice.pk)
        if not locked.is_frozen:
            raise CaseError("Sign the notice before sending it.", code="not_signed")
        if locked.sent_at is not None:
            return locked  # a second click changes nothing
        # A notice queued for email and sent by hand meanwhile: the queued
        # task finds it no longer "sending" and sends nothing.
        _record_sent(locked, actor=actor, sent_at=timezone.now())
        record_event(
            notice.case,
            "notice.sent",
            actor=actor,
            notice_id=locked.pk,
            basis=locked.basis,
            platform=locked.platform.slug,
            deadline_at=locked.deadline_at.isoformat() if locked.deadline_at else None,
        )
    return locked


# --- Sending by email ----------------------------------------------------------------

EMAIL_RECIPIENT_KINDS = frozenset({"platform", "host"})
MAX_SEND_ATTEMPTS = 6  # the first try and five retries


def email_recipient(notice: Notice) -> str:
    """The address this notice goes to by email, or "" when the platform takes it only through a form.

    A DMCA notice goes to the designated agent (512(c)(3)(A)) when the
    directory has one; every other basis to the platform's NCII address.
    """
    basis = get_basis(notice.basis)
    if not basis.recipient_kinds & EMAIL_RECIPIENT_KINDS:
        return ""  # a regulator, a tribunal or a search engine's form
    platform = notice.platform
    if basis.id == DMCA_BASIS:
        return platform.dmca_email or platform.ncii_email
    return platform.ncii_email


def send_notice_by_email(notice: Notice, *, actor: AnyUser, to: str | None = None) -> Notice:
    """Queue a signed notice to be emailed to the platform; the task sends exactly the frozen text and PDF.

    The notice becomes "sending" now and "sent" when the mail server accepts
    the message (`notices.tasks.send_notice_email`), which is when the
    deadline starts. Refused for a draft, a notice already sent or being
    sent, and a platform without an email address.
    """
    require_write(actor, notice.case)
    recipient = (to or "").strip() or email_recipient(notice)
    if not recipient:
        raise CaseError(
            "This platform takes reports through its web form, not by email: copy the text into the form.",
            code="no_email",
        )
    try:
        validate_email(recipient)
    except ValidationError as exc:
        raise CaseError("That email address is not valid.", code="bad_email") from exc
    with transaction.atomic():
        locked = Notice.objects.select_for_update().select_related("platform").get(pk=notice.pk)
        if not locked.is_frozen:
            raise CaseError("Sign the notice before sending it.", code="not_signed")
        if locked.sent_at is not None:
            raise CaseError("This notice has already been sent.", code="already_sent")
        if locked.status == NoticeStatus.SENDING:
            raise CaseError("This notice is already being sent.", code="already_sending")
        locked.status = NoticeStatus.SENDING
        locked.sent_to = recipient
        locked.message_id = ""
        locked.send_attempts = 0
        locked.last_send_error = ""
        locked.save(update_fields=["status", "sent_to", "message_id", "send_attempts", "last_send_error"])
        touch(locked.case)
        record_event(
            locked.case,
            "notice.email_queued",
            actor=actor,
            notice_id=locked.pk,
            basis=locked.basis,
            platform=locked.platform.slug,
        )
        from .tasks import send_notice_email

        transaction.on_commit(lambda: enqueue(send_notice_email, locked.pk))
    return locked


def claim_email_attempt(notice_id: int, *, domain: str) -> str | None:
    """Claim the next send attempt of a notice being sent; its new Message-ID, or None if there is nothing to send.

    A conditional update, so of two deliveries of the same task only one
    gets to send: the other finds the notice sent, back to signed, or an
    attempt already in flight (a Message-ID set), and does nothing.
    """
    message_id = make_msgid(domain=domain)
    claimed = Notice.objects.filter(pk=notice_id, status=NoticeStatus.SENDING, message_id="").update(
        message_id=message_id, send_attempts=F("send_attempts") + 1
    )
    return message_id if claimed else None


def build_notice_email(notice: Notice, *, message_id: str) -> EmailMessage:
    """The email of a signed notice: the frozen text as its body, the frozen PDF attached.

    The subject names the case reference and the law only, no personal data.
    """
    reference = notice.case.reference
    subject = render_to_string(
        "notices/email/subject.txt",
        {"reference": reference, "notice_id": notice.pk, "basis_name": notice.basis_name},
    )
    reply_to = []
    if notice.signer_capacity == SignerCapacity.REPRESENTATIVE and notice.signed_by and notice.signed_by.email:
        reply_to = [notice.signed_by.email]
    message = EmailMessage(
        subject=" ".join(subject.split()),
        body=notice.frozen_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notice.sent_to],
        reply_to=reply_to,
        headers={"Message-ID": message_id},
    )
    message.attach(f"notice-{reference}-{notice.pk}.pdf", base64.b64decode(notice.frozen_pdf_b64), "application/pdf")
    return message


def record_email_sent(notice_id: int, *, message_id: str) -> Notice | None:
    """The mail server accepted the message: the notice is sent, its deadline starts, its URLs move."""
    with transaction.atomic():
        locked = Notice.objects.select_for_update().select_related("case", "platform").get(pk=notice_id)
        if locked.message_id != message_id:
            return None  # not our attempt (cannot happen while the claim holds; never overwrite)
        locked.last_send_error = ""
        locked.save(update_fields=["last_send_error"])
        if locked.sent_at is None:  # not marked sent by hand meanwhile
            _record_sent(locked, actor=None, sent_at=timezone.now())
        touch(locked.case)
        record_event(
            locked.case,
            "notice.emailed",
            actor=None,
            notice_id=locked.pk,
            basis=locked.basis,
            platform=locked.platform.slug,
            attempts=locked.send_attempts,
            deadline_at=locked.deadline_at.isoformat() if locked.deadline_at else None,
        )
    return locked


def record_email_failure(notice_id: int, *, message_id: str, error: str, final: bool) -> None:
    """An attempt failed: release the claim for the retry, or after the last one put the notice back to signed."""
    with transaction.atomic():
        locked = Notice.objects.select_for_update().select_related("case", "platform").get(pk=notice_id)
        if locked.message_id != message_id or locked.status != NoticeStatus.SENDING:
            return
        locked.message_id = ""
        locked.last_send_error = error[:1000]
        fields = ["message_id", "last_send_error"]
        if final:
            locked.status = NoticeStatus.SIGNED
            fields.append("status")
        locked.save(update_fields=fields)
        if final:
            touch(locked.case)
            record_event(
                locked.case,
                "notice.email_failed",
                actor=None,
                notice_id=locked.pk,
                basis=locked.basis,
                platform=locked.platform.slug,
                attempts=locked.send_attempts,
            )
