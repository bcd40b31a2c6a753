"""Rendering notices: one HTML template per basis, to HTML, plain text and PDF.

Templates mark each statutory element with `data-element="<id>"`;
`missing_elements` reads a rendering back and names every required element
that is absent or empty, so an incomplete notice cannot be signed or sent.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from .catalogue import LegalBasis, get_basis
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
    return {
        "notice": notice,
        "basis": basis,
        "case": case,
        "survivor": survivor,
        "platform": notice.platform,
        "urls": list(notice.urls.order_by("created_at", "id")),
        "representative": representative,
        "contact": contact if has_contact else None,
        "generated_at": notice.signed_at or timezone.now(),
        "draft": notice.signed_at is None,
    }


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
