"""Rendering notices: one HTML template per basis, to HTML, plain text and PDF.

Templates mark each statutory element with `data-element="<id>"`;
`missing_elements` reads a rendering back and names every required element
that is absent or empty, so an incomplete notice cannot be signed or sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from .catalogue import LegalBasis, get_basis
from .choosing import country_name, dsa_member_state, lives_in_california, normalise_country
from .models import Notice, SignerCapacity

# Void elements never get a closing tag, so they must not open a nesting level.
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})


class _ElementText(HTMLParser):
    """Collects the visible text inside each data-element block."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: dict[str, list[str]] = {}
        self._open: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            return
        element = dict(attrs).get("data-element")
        self._open.append(element)
        if element:
            self.text.setdefault(element, [])

    def handle_endtag(self, tag: str) -> None:
        if tag not in _VOID and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for element in self._open:
            if element:
                self.text[element].append(data)


def element_texts(html: str) -> dict[str, str]:
    parser = _ElementText()
    parser.feed(html)
    parser.close()
    return {k: " ".join("".join(v).split()) for k, v in parser.text.items()}


def missing_elements(basis: LegalBasis, html: str) -> list[str]:
    """Ids of the basis's required elements that the rendering lacks or leaves empty."""
    found = element_texts(html)
    return [e.id for e in basis.elements if not found.get(e.id)]


def sender_has_fields(basis: LegalBasis, sender: dict[str, Any]) -> bool:
    """Whether the sender's details hold everything the basis asks of them (DSA: name and email)."""
    checks = {
        "name": bool(sender.get("name")),
        "email": bool(sender.get("email")),
        "phone": bool(sender.get("phone")),
        "email_or_phone": bool(sender.get("email") or sender.get("phone")),
    }
    return all(checks[f] for f in basis.sender_fields)


@dataclass(frozen=True)
class FormAnswer:
    """One ready-to-paste answer for a web form: a single value, or several (the URLs)."""

    id: str
    label: str
    value: str
    values: tuple[str, ...]
    required: bool
    help: str


def _form_value(source: str, context: dict[str, Any]) -> str | tuple[str, ...]:
    survivor, sender, kind = context["survivor"], context["sender"], context["case"].content_kind
    if source == "survivor_country":
        return context["survivor_country_name"]
    if source == "sender_name":
        return str(sender["name"] or "")
    if source == "sender_email":
        return str(sender["email"] or "")
    if source == "depicted_name":
        return survivor.legal_name or ("" if context["representative"] else context["notice"].signer_name)
    if source == "acting_for":
        if not context["representative"]:
            return _("I am the person depicted.")
        org = sender["organization"]
        return _(
            "I am %(name)s%(org)s, acting on behalf of the person depicted, who has authorised me to make this request."
        ) % {"name": sender["name"], "org": f", {org.name}" if org else ""}
    if source == "urls":
        return tuple(u.url for u in context["urls"])
    if source == "content_description":
        if kind == "ai":
            return _(
                "The images are fake: they were created or altered with AI or other software and falsely show "
                "the person depicted nude or sexually explicit."
            )
        if kind == "real":
            return _("The images are real intimate images of the person depicted (nude or sexually explicit).")
        return _(
            "The images show the person depicted nude or sexually explicit; whether they are real or were "
            "created or altered with AI is not known."
        )
    if source == "identifiable":
        return _("Yes. The person depicted can be identified in the images.")
    if source == "nonconsent":
        return _("The images were shared without the consent of the person depicted.")
    if source == "consent_ever_given":
        return _("No. The person depicted did not consent to the images being distributed.")
    return ""  # "to_complete": only the person filling in the form has it (the field's help says what)


def form_answers(basis: LegalBasis, context: dict[str, Any]) -> list[FormAnswer]:
    answers = []
    for f in basis.form_fields:
        value = _form_value(f.source, context)
        values = value if isinstance(value, tuple) else ()
        answers.append(
            FormAnswer(
                id=f.id,
                # Labels and help come from the data file; a catalogue may translate them like any string.
                label=_(f.label),
                value=value if isinstance(value, str) else "",
                values=values,
                required=f.required,
                help=_(f.help) if f.help else "",
            )
        )
    return answers


def notice_context(notice: Notice) -> dict[str, Any]:
    basis = get_basis(notice.basis)
    case = notice.case
    survivor = case.survivor
    representative = notice.signer_capacity == SignerCapacity.REPRESENTATIVE
    signer = notice.signed_by
    if representative and signer is not None:
        contact = {"name": notice.signer_name, "email": signer.email, "phone": "", "organization": case.organization}
    else:
        contact = {
            "name": notice.signer_name or survivor.display_name,
            "email": survivor.email,
            "phone": survivor.phone,
            "organization": None,
        }
    has_contact = bool(contact["email"] or contact["phone"])
    platform = notice.platform
    member_state = dsa_member_state(survivor.country, platform.jurisdiction)
    context: dict[str, Any] = {
        "notice": notice,
        "basis": basis,
        "case": case,
        "survivor": survivor,
        "platform": platform,
        "urls": list(notice.urls.order_by("created_at", "id")),
        "representative": representative,
        "contact": contact if has_contact else None,
        "generated_at": notice.signed_at or timezone.now(),
        "draft": notice.signed_at is None,
        # Always the sender's details, for bases that need more than a way to reply (DSA: name and email).
        "sender": contact,
        "sender_complete": sender_has_fields(basis, contact),
        "deadline": basis.deadline,
        "survivor_country": normalise_country(survivor.country),
        "survivor_country_name": country_name(survivor.country),
        "california_resident": lives_in_california(survivor.country, survivor.region),
        "member_state": member_state,
        "member_state_name": country_name(member_state) if member_state else "",
        "national_offence": basis.offence_for(member_state) if member_state else None,
        "form_url": basis.form_url(case.content_kind),
    }
    if "prior_reports" in basis.element_ids:
        # eSafety asks what was already reported to the platform.
        context["prior_notices"] = list(
            case.notices.filter(platform=platform, sent_at__isnull=False).exclude(pk=notice.pk).order_by("sent_at")
        )
    if basis.form_fields:
        context["form_answers"] = form_answers(basis, context)
    return context


def render_notice_html(notice: Notice) -> str:
    context = notice_context(notice)
    return render_to_string(context["basis"].template, context)


def render_notice_text(notice: Notice) -> str:
    context = notice_context(notice)
    text = render_to_string(context["basis"].text_template, context)
    # Templates are indented for readability; the email body should not be.
    lines = [line.strip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip() + "\n"


def render_pdf(html: str) -> bytes:
    """HTML to PDF with WeasyPrint. Imported lazily: it needs Pango at import time."""
    from weasyprint import HTML

    pdf = HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(pdf_tags=True)
    assert pdf is not None
    return bytes(pdf)


def render_notice(notice: Notice) -> bytes:
    """The one PDF renderer (STYLE.md 6): the frozen PDF once signed, else a draft."""
    if notice.is_frozen and notice.frozen_pdf_b64:
        import base64

        return base64.b64decode(notice.frozen_pdf_b64)
    return render_pdf(render_notice_html(notice))
