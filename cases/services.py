"""Every write to a case goes through here: one function per action, each audited."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from redress.tasks import enqueue

from .errors import CaseError
from .models import (
    WRITE_ROLES,
    Case,
    ContentKind,
    Event,
    Membership,
    MinorAnswer,
    Organization,
    ReportedURL,
    Survivor,
)
from .references import clean_reference, new_reference
from .urlnorm import normalise_url

AnyUser = User | AnonymousUser


def user_or_none(actor: AnyUser | None) -> User | None:
    """The signed-in user, or None for anonymous callers and the system."""
    return actor if isinstance(actor, User) and actor.is_authenticated else None


# A paste or CSV of more lines than this is refused whole, with a message,
# rather than half-added: split it and add the parts.
MAX_URLS_PER_PASTE = 2000
MAX_CSV_BYTES = 2 * 1024 * 1024
_URL_COLUMNS = ("url", "link", "address", "web address")


class PermissionDenied(CaseError):
    def __init__(self, message: str = "Your role can view this case but not change it.") -> None:
        super().__init__(message, code="permission_denied")


def record_event(
    case: Case | None,
    action: str,
    *,
    actor: AnyUser | None,
    organization: Organization | None = None,
    **data: Any,
) -> Event:
    """Append one timeline/audit row. `data` must hold no personal data."""
    user = user_or_none(actor)
    return Event.objects.create(
        case=case,
        case_reference=case.reference if case else "",
        organization=organization or (case.organization if case else None),
        actor=user,
        actor_label=user.get_username() if user else "system",
        action=action,
        data=data,
    )


# --- Access ------------------------------------------------------------------


def cases_for(user: AnyUser) -> QuerySet[Case]:
    """Every case the user may see: those of the organisations they belong to."""
    member = user_or_none(user)
    if member is None:
        return Case.objects.none()
    return Case.objects.filter(organization__memberships__user=member)


def membership_for(user: AnyUser, case: Case) -> Membership | None:
    member = user_or_none(user)
    if member is None:
        return None
    return Membership.objects.filter(user=member, organization_id=case.organization_id).first()


def get_case_for(user: AnyUser, reference: str, *, audit: bool = True) -> Case:
    """The case with this reference, if the user may see it; else 404.

    "Does not exist" and "not yours" are the same 404 so a reference cannot be
    probed. Every successful read is written to the audit log.
    """
    try:
        case = cases_for(user).select_related("organization").get(reference=clean_reference(reference))
    except Case.DoesNotExist as exc:
        raise Http404("No case with that reference.") from exc
    if audit:
        record_event(case, "case.viewed", actor=user)
    return case


def require_write(user: AnyUser, case: Case) -> Membership:
    membership = membership_for(user, case)
    if membership is None or not membership.can_write:
        raise PermissionDenied()
    return membership


# --- Opening a case ----------------------------------------------------------


@dataclass
class SurvivorDetails:
    country: str
    under_18_in_content: str
    pseudonym: str = ""
    legal_name: str = ""
    email: str = ""
    phone: str = ""
    region: str = ""
    consent_act_on_behalf: bool = False
    consent_share_hashes: bool = False
    content_kind: str = ContentKind.UNKNOWN
    extra: dict[str, Any] = field(default_factory=dict)


def open_case(*, actor: AnyUser, organization: Organization, details: SurvivorDetails) -> Case:
    """Open a case for a survivor in an organisation the actor can write to.

    A "yes" or "not sure" to the age question puts the case on the minors
    path: nothing is fetched or hashed server-side, and the person is shown
    the child-protection routes (NCMEC, IWF) instead of a dead end.
    """
    user = user_or_none(actor)
    if (
        user is None
        or not Membership.objects.filter(user=user, organization=organization, role__in=WRITE_ROLES).exists()
    ):
        raise PermissionDenied("You cannot open cases in this organisation.")
    if details.under_18_in_content not in MinorAnswer.values:
        raise CaseError("Please answer the age question.", code="age_required")
    if not (details.pseudonym.strip() or details.legal_name.strip()):
        raise CaseError("Give a name or a pseudonym so the case can be told apart.", code="name_required")
    if len(details.country) != 2 or not details.country.isalpha():
        raise CaseError("Choose a country.", code="country_required")
    minor = details.under_18_in_content in (MinorAnswer.YES, MinorAnswer.UNSURE)
    with transaction.atomic():
        case = _create_with_unique_reference(organization, user, details.content_kind, minor)
        Survivor.objects.create(
            case=case,
            pseudonym=details.pseudonym.strip(),
            legal_name=details.legal_name.strip(),
            email=details.email.strip(),
            phone=details.phone.strip(),
            country=details.country.upper(),
            region=details.region.strip(),
            consent_act_on_behalf=details.consent_act_on_behalf,
            consent_share_hashes=details.consent_share_hashes,
            under_18_in_content=details.under_18_in_content,
        )
        record_event(case, "case.opened", actor=actor, minor_path=minor, country=details.country.upper())
    return case


def _create_with_unique_reference(organization: Organization, actor: User, kind: str, minor: bool) -> Case:
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Case.objects.create(
                    organization=organization,
                    reference=new_reference(),
                    content_kind=kind,
                    minor_path=minor,
                    created_by=actor,
                )
        except IntegrityError:  # a reference collision: astronomically rare, so retry
            continue
    raise CaseError("Could not allocate a case reference; please try again.", code="reference_exhausted")


# --- URLs --------------------------------------------------------------------


@dataclass
class URLIntakeResult:
    added: list[ReportedURL] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (line number, text, reason)
    # URL -> references of other cases of the same organisation that report it too.
    elsewhere: dict[str, list[str]] = field(default_factory=dict)


def urls_from_csv(data: bytes) -> list[str]:
    """The URL column of a CSV (a column named url/link/address, else the first one).

    Spreadsheets export UTF-8 with a byte-order mark or, from older Excel,
    Windows-1252; both are read. Blank cells are skipped.
    """
    if len(data) > MAX_CSV_BYTES:
        raise CaseError(f"That file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB.", code="csv_too_large")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise CaseError(f"This file could not be read as CSV: {exc}.", code="bad_csv") from exc
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    column = next((header.index(name) for name in _URL_COLUMNS if name in header), None)
    if column is not None:
        rows = rows[1:]
    index = column or 0
    return [row[index].strip() for row in rows if len(row) > index and row[index].strip()]


def add_urls(case: Case, lines: Iterable[str], *, actor: AnyUser) -> URLIntakeResult:
    """Validate, normalise and add pasted URLs; report each line that was not added.

    Valid lines are added even when others are not (nothing the person pasted
    is silently lost: every refused line comes back with its reason). URLs
    already in the case are reported as duplicates, not added twice.
    """
    from notices.directory import PlatformMatcher

    require_write(actor, case)
    raw_lines = [line for line in lines if line.strip()]
    if len(raw_lines) > MAX_URLS_PER_PASTE:
        raise CaseError(
            f"That is {len(raw_lines):,} lines; paste at most {MAX_URLS_PER_PASTE} at a time.", code="too_many_urls"
        )
    result = URLIntakeResult()
    seen = set(case.urls.values_list("url", flat=True))
    pending: list[str] = []
    for number, line in enumerate(raw_lines, start=1):
        try:
            url = normalise_url(line)
        except CaseError as exc:
            result.errors.append((number, line.strip()[:200], str(exc)))
            continue
        if url in seen:
            result.duplicates.append(url)
            continue
        seen.add(url)
        pending.append(url)
    for url, reference in (
        ReportedURL.objects.filter(case__organization_id=case.organization_id, url__in=pending)
        .exclude(case=case)
        .values_list("url", "case__reference")
    ):
        result.elsewhere.setdefault(url, []).append(reference)
    match_platform = PlatformMatcher()
    with transaction.atomic():
        for url in pending:
            domain, platform = match_platform(url)
            result.added.append(
                ReportedURL.objects.create(
                    case=case, url=url, domain=domain, platform=platform, added_by=user_or_none(actor)
                )
            )
        if result.added:
            touch(case)
            record_event(
                case,
                "url.added",
                actor=actor,
                count=len(result.added),
                url_ids=[u.pk for u in result.added],
                duplicates=len(result.duplicates),
                in_other_cases=len(result.elsewhere),
                refused=len(result.errors),
            )
            _queue_checks(case, [u.pk for u in result.added])
    return result


def request_checks(case: Case, *, actor: AnyUser) -> int:
    """Queue a liveness check of every URL of the case; returns how many."""
    require_write(actor, case)
    if case.minor_path:
        raise CaseError(
            "This case is on the under-18 path: Redress does not visit these addresses itself.", code="minor_path"
        )
    url_ids = list(case.urls.values_list("pk", flat=True))
    with transaction.atomic():
        record_event(case, "url.check_requested", actor=actor, count=len(url_ids))
        _queue_checks(case, url_ids)
    return len(url_ids)


def _queue_checks(case: Case, url_ids: list[int]) -> None:
    if case.minor_path:
        return
    from monitoring.tasks import check_url

    for url_id in url_ids:
        transaction.on_commit(partial(enqueue, check_url, url_id))


def touch(case: Case) -> None:
    case.updated_at = timezone.now()
    case.save(update_fields=["updated_at"])
