"""Reads for case pages: what the timeline and the URL table show."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from monitoring.models import URLCheck
from notices.catalogue import load_catalogue
from notices.models import Platform

from .models import Case, Event, ReportedURL

# What the timeline says for each audited action. Reads ("case.viewed") are
# in the audit log but not on the timeline, which tells the case's story.
_DESCRIPTIONS = {
    "case.opened": gettext_lazy("Case opened"),
    "media.added": gettext_lazy("Media fingerprinted and added"),
    "url.added": gettext_lazy("Web addresses added"),
    "url.checked": gettext_lazy("Web address checked"),
    "url.check_requested": gettext_lazy("Checks requested"),
    "url.check_skipped_minor": gettext_lazy("Check skipped (under-18 path: Redress does not visit these addresses)"),
    "notice.generated": gettext_lazy("Notice drafted"),
    "notice.signed": gettext_lazy("Notice signed"),
    "notice.sent": gettext_lazy("Notice sent"),
}


@dataclass
class TimelineEntry:
    event: Event
    description: object
    detail: str


def _detail(event: Event, platforms: dict[str, str]) -> str:
    data = event.data
    if event.action == "url.added":
        return _("%(count)s added") % {"count": data.get("count", 0)}
    if event.action == "url.checked":
        status = data.get("http_status")
        return f"{data.get('outcome', '')} (HTTP {status})" if status else str(data.get("outcome", ""))
    if event.action in ("notice.generated", "notice.signed", "notice.sent"):
        basis = load_catalogue().get(str(data.get("basis", "")))
        platform = platforms.get(str(data.get("platform", "")), data.get("platform", ""))
        parts = [basis.name if basis else "", _("to %(p)s") % {"p": platform} if platform else ""]
        if event.action == "notice.sent" and data.get("deadline_at"):
            parts.append(_("deadline %(d)s UTC") % {"d": str(data["deadline_at"])[:16].replace("T", " ")})
        return " ".join(p for p in parts if p)
    if event.action == "media.added" and data.get("pdq_reliable") is False:
        return _("low detail: this image may not match reliably")
    return ""


def timeline(case: Case) -> list[TimelineEntry]:
    events = case.events.exclude(action="case.viewed").select_related("actor")
    platforms = dict(Platform.objects.values_list("slug", "name"))
    return [TimelineEntry(e, _DESCRIPTIONS.get(e.action, e.action), _detail(e, platforms)) for e in events]


def urls_with_checks(case: Case) -> QuerySet[ReportedURL]:
    return case.urls.select_related("platform").prefetch_related(
        Prefetch("checks", queryset=URLCheck.objects.order_by("-checked_at", "-id"))
    )
