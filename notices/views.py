"""Notice pages: draft, preview, sign, download, send by email or mark as sent."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cases.errors import CaseError
from cases.models import Case
from cases.services import PermissionDenied, get_case_for, membership_for
from cases.views import forbidden
from redress import once

from .catalogue import get_basis
from .forms import SignNoticeForm
from .models import Notice, NoticeStatus, Platform, SignerCapacity
from .render import render_notice, render_notice_text
from .services import (
    attestation_text,
    create_notice,
    email_recipient,
    mark_notice_sent,
    send_notice_by_email,
    sign_notice,
)


def _notice_for(case: Case, notice_id: int) -> Notice:
    try:
        return case.notices.select_related("platform", "case__survivor").get(pk=notice_id)
    except Notice.DoesNotExist as exc:
        raise Http404("No such notice in this case.") from exc


@login_required
@require_POST
def create_notice_view(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    if done := once.already_done(request):
        return HttpResponseRedirect(done)
    try:
        platform = Platform.objects.get(pk=int(request.POST.get("platform", "0")))
        notice = create_notice(case, platform, request.POST.get("basis", ""), actor=request.user)
    except (Platform.DoesNotExist, ValueError):
        messages.error(request, _("Choose a platform from the list."))
        return redirect("cases-view-case", case.reference)
    except PermissionDenied as exc:
        return forbidden(request, exc)
    except CaseError as exc:
        messages.error(request, str(exc))
        return redirect("cases-view-case", case.reference)
    url = reverse("notices-view-notice", args=[case.reference, notice.pk])
    once.mark_done(request, url)
    return HttpResponseRedirect(url)


def _default_capacity(request: HttpRequest, case: Case) -> list[str]:
    # Staff sign as the survivor's authorised representative; self-service
    # signing by the survivor comes with the self-service issue.
    return [SignerCapacity.REPRESENTATIVE]


@login_required
def view_notice(request: HttpRequest, reference: str, notice_id: int) -> HttpResponse:
    case = get_case_for(request.user, reference)
    notice = _notice_for(case, notice_id)
    basis = get_basis(notice.basis)
    membership = membership_for(request.user, case)
    can_write = bool(membership and membership.can_write)
    capacities = [c for c in _default_capacity(request, case) if c in basis.who_may_send]
    form = SignNoticeForm(capacities=capacities)
    status = 200
    if request.method == "POST":
        if not can_write:
            return forbidden(request, PermissionDenied())
        form = SignNoticeForm(request.POST, capacities=capacities)
        if form.is_valid():
            try:
                sign_notice(
                    notice,
                    actor=request.user,
                    full_name=form.cleaned_data["full_name"],
                    capacity=form.cleaned_data["capacity"],
                    attested=form.cleaned_data["attest"],
                )
            except CaseError as exc:
                form.add_error(None, str(exc))
                if notice.is_frozen:
                    # A signed notice no longer shows the signing form, so the refusal goes where it is read.
                    messages.error(request, str(exc))
            else:
                messages.success(request, _("Notice signed. Download the PDF or copy the text to send it."))
                return redirect("notices-view-notice", case.reference, notice.pk)
        status = 400
    elif request.method != "GET":
        return HttpResponse(status=405)
    return _notice_page(request, case, notice, form=form, can_write=can_write, status=status)


def _notice_page(
    request: HttpRequest,
    case: Case,
    notice: Notice,
    *,
    form: SignNoticeForm | None = None,
    can_write: bool,
    status: int = 200,
    send_error: str = "",
) -> HttpResponse:
    basis = get_basis(notice.basis)
    if form is None:
        form = SignNoticeForm(capacities=[c for c in _default_capacity(request, case) if c in basis.who_may_send])
    preview = notice.frozen_text if notice.is_frozen else render_notice_text(notice)
    context = {
        "case": case,
        "notice": notice,
        "basis": basis,
        "can_write": can_write,
        "form": form,
        "attestation": attestation_text(basis).splitlines(),
        "preview": preview,
        "email_to": email_recipient(notice),
        "sending": notice.status == NoticeStatus.SENDING,
        "send_error": send_error,
    }
    return render(request, "notices/notice.html", context, status=status)


@login_required
@require_GET
def notice_pdf(request: HttpRequest, reference: str, notice_id: int) -> HttpResponse:
    case = get_case_for(request.user, reference)
    notice = _notice_for(case, notice_id)
    pdf = render_notice(notice)
    suffix = "" if notice.is_frozen else "-draft"
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="notice-{case.reference}-{notice.pk}{suffix}.pdf"'
    return response


@login_required
@require_POST
def mark_sent_view(request: HttpRequest, reference: str, notice_id: int) -> HttpResponse:
    """Mark a notice sent by hand, or with `method=email` queue it to be emailed to the platform."""
    case = get_case_for(request.user, reference)
    notice = _notice_for(case, notice_id)
    if request.POST.get("method") == "email":
        try:
            send_notice_by_email(notice, actor=request.user)
        except PermissionDenied as exc:
            return forbidden(request, exc)
        except CaseError as exc:
            notice.refresh_from_db()
            return _notice_page(request, case, notice, can_write=True, status=400, send_error=str(exc))
        messages.success(request, _("The notice is being sent by email. The deadline starts when it has gone."))
        return redirect("notices-view-notice", case.reference, notice.pk)
    try:
        mark_notice_sent(notice, actor=request.user)
    except PermissionDenied as exc:
        return forbidden(request, exc)
    except CaseError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Marked as sent. The deadline clock has started."))
    return redirect("notices-view-notice", case.reference, notice.pk)
