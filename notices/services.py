"""Writing notices: generate, sign (and freeze), mark as sent. Each is audited."""

from __future__ import annotations

import base64
import hashlib

from django.db import transaction
from django.utils import timezone

from cases.errors import CaseError
from cases.models import Case, URLStatus
from cases.services import AnyUser, record_event, require_write, touch, user_or_none

from .catalogue import Element, LegalBasis, get_basis
from .models import Notice, NoticeStatus, Platform, SignerCapacity
from .render import missing_elements, render_notice_html, render_notice_text, render_pdf

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


def _urls_notice_sent(notice: Notice, actor: AnyUser) -> None:
    """Move each covered URL to "notice sent" where its lifecycle allows (a removed URL stays removed)."""
    from monitoring.lifecycle import IllegalTransition, Reason, transition

    for reported in notice.urls.select_for_update():
        if reported.status == URLStatus.NOTICE_SENT:
            continue
        try:
            transition(reported, URLStatus.NOTICE_SENT, actor=actor, reason=Reason.NOTICE_SENT)
        except IllegalTransition:
            continue


def mark_notice_sent(notice: Notice, *, actor: AnyUser) -> Notice:
    """Record that the notice went out (e.g. pasted into the platform's form); starts the deadline."""
    require_write(actor, notice.case)
    basis = get_basis(notice.basis)
    with transaction.atomic():
        locked = Notice.objects.select_for_update().get(pk=notice.pk)
        if not locked.is_frozen:
            raise CaseError("Sign the notice before sending it.", code="not_signed")
        if locked.sent_at is not None:
            return locked  # a second click changes nothing
        locked.sent_at = timezone.now()
        # Calendar months (GDPR) and clocks started by someone else (eSafety's
        # own notice) are the catalogue's to work out, not a fixed timedelta.
        locked.deadline_at = basis.deadline.due(locked.sent_at) if basis.deadline else None
        locked.status = NoticeStatus.SENT
        locked.save(update_fields=["sent_at", "deadline_at", "status"])
        _urls_notice_sent(locked, actor)
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
