"""Case pages. Views parse and check access; services do every write."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from hashing.services import add_uploaded_media
from redress import once

from . import selectors
from .errors import CaseError
from .forms import MediaUploadForm, OpenCaseForm, URLPasteForm
from .models import Case, Organization, Role
from .services import (
    PermissionDenied,
    SurvivorDetails,
    add_urls,
    cases_for,
    get_case_for,
    membership_for,
    open_case,
    request_checks,
    require_write,
    urls_from_csv,
    user_or_none,
)


def forbidden(request: HttpRequest, exc: CaseError) -> HttpResponse:
    """The 403 page for a role that may see a case but not change it (notices' views use it too)."""
    return render(request, "cases/forbidden.html", {"message": str(exc)}, status=403)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("cases-list-cases")
    return redirect("login")


@login_required
@require_GET
def list_cases(request: HttpRequest) -> HttpResponse:
    cases = cases_for(request.user).select_related("organization").order_by("-updated_at")
    can_open = _writable_orgs(request).exists()
    return render(request, "cases/list.html", {"cases": cases, "can_open": can_open})


def _writable_orgs(request: HttpRequest) -> QuerySet[Organization]:
    return Organization.objects.filter(
        memberships__user=user_or_none(request.user), memberships__role__in=[Role.ADMIN, Role.ADVOCATE]
    ).distinct()


@login_required
def open_case_view(request: HttpRequest) -> HttpResponse:
    organizations = _writable_orgs(request)
    if not organizations.exists():
        return forbidden(request, PermissionDenied(_("Your role can view cases but not open them.")))
    if request.method == "POST":
        if done := once.already_done(request):
            return HttpResponseRedirect(done)
        form = OpenCaseForm(request.POST, organizations=organizations)
        if form.is_valid():
            data = form.cleaned_data
            try:
                case = open_case(
                    actor=request.user,
                    organization=data["organization"],
                    details=SurvivorDetails(
                        country=data["country"],
                        under_18_in_content=data["under_18_in_content"],
                        pseudonym=data["pseudonym"],
                        legal_name=data["legal_name"],
                        email=data["email"],
                        phone=data["phone"],
                        region=data["region"],
                        consent_act_on_behalf=data["consent_act_on_behalf"],
                        consent_share_hashes=data["consent_share_hashes"],
                        content_kind=data["content_kind"],
                    ),
                )
            except CaseError as exc:
                form.add_error(None, str(exc))
            else:
                url = reverse("cases-view-case", args=[case.reference])
                once.mark_done(request, url)
                messages.success(request, _("Case %(ref)s opened.") % {"ref": case.reference})
                return HttpResponseRedirect(url)
    else:
        form = OpenCaseForm(organizations=organizations)
    return render(request, "cases/open.html", {"form": form, "once": once.new_token()})


@login_required
@require_GET
def view_case(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    return _render_case(request, case)


def _render_case(
    request: HttpRequest,
    case: Case,
    *,
    upload_form: MediaUploadForm | None = None,
    url_form: URLPasteForm | None = None,
    url_errors: list[tuple[int, str, str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    membership = membership_for(request.user, case)
    urls = list(selectors.urls_with_checks(case))
    context = {
        "case": case,
        "survivor": case.survivor,
        "can_write": bool(membership and membership.can_write),
        "media": case.media.prefetch_related("hashes"),
        "urls": urls,
        "unknown_urls": [u for u in urls if u.platform_id is None],
        "notice_options": selectors.notice_options(case, urls),
        "notices": case.notices.select_related("platform"),
        "timeline": selectors.timeline(case),
        "upload_form": upload_form or MediaUploadForm(),
        "url_form": url_form or URLPasteForm(),
        "url_errors": url_errors or [],
        "once": once.new_token(),
    }
    return render(request, "cases/case.html", context, status=status)


@login_required
@require_POST
def add_media(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    try:
        require_write(request.user, case)
    except CaseError as exc:
        return forbidden(request, exc)
    form = MediaUploadForm(request.POST, request.FILES)
    if getattr(request, "upload_too_large", False):
        # The upload handler dropped the file at the cap: say that, not "this field is required".
        form.is_valid()
        form.errors.pop("file", None)
        limit = filesizeformat(settings.UPLOAD_MAX_BYTES)
        form.add_error("file", _("That file is larger than %(limit)s. Try a smaller copy.") % {"limit": limit})
        return _render_case(request, case, upload_form=form, status=400)
    if not form.is_valid():
        return _render_case(request, case, upload_form=form, status=400)
    try:
        add_uploaded_media(case, form.cleaned_data["file"], actor=request.user, label=form.cleaned_data["label"])
    except CaseError as exc:
        form.add_error("file", str(exc))
        if case.minor_path:
            # The upload form is not shown on the minors path; the refusal must still be read.
            messages.error(request, str(exc))
        return _render_case(request, case, upload_form=form, status=400)
    messages.success(request, _("Fingerprints saved. The photo itself was not kept."))
    return redirect("cases-view-case", case.reference)


@login_required
@require_POST
def add_urls_view(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    form = URLPasteForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_case(request, case, url_form=form, status=400)
    try:
        lines = form.cleaned_data["urls"].splitlines()
        if form.cleaned_data["csv_file"]:
            lines += urls_from_csv(form.cleaned_data["csv_file"].read())
        result = add_urls(case, lines, actor=request.user)
    except PermissionDenied as exc:
        return forbidden(request, exc)
    except CaseError as exc:
        form.add_error("urls", str(exc))
        return _render_case(request, case, url_form=form, status=400)
    if result.added:
        messages.success(request, _("%(n)s web address(es) added.") % {"n": len(result.added)})
    if result.elsewhere:
        references = sorted({ref for refs in result.elsewhere.values() for ref in refs})
        messages.warning(
            request,
            _("%(n)s of these are also reported in other cases of your organisation: %(refs)s.")
            % {"n": len(result.elsewhere), "refs": ", ".join(references)},
        )
    if result.duplicates:
        messages.info(request, _("%(n)s already in this case, not added again.") % {"n": len(result.duplicates)})
    if result.errors:
        # Keep the refused lines in the box so nothing pasted is lost.
        retry = URLPasteForm(initial={"urls": "\n".join(text for _n, text, _r in result.errors)})
        status = 200 if result.added else 400
        return _render_case(request, case, url_form=retry, url_errors=result.errors, status=status)
    return redirect("cases-view-case", case.reference)


@login_required
@require_POST
def check_urls_view(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    try:
        count = request_checks(case, actor=request.user)
    except PermissionDenied as exc:
        return forbidden(request, exc)
    except CaseError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Checking %(n)s web address(es).") % {"n": count})
    return redirect("cases-view-case", case.reference)
