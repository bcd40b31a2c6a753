"""Reads for case pages: what the timeline and the URL table show."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from monitoring.models import URLCheck

from .models import Case, Event, ReportedURL

# What the timeline says for each audited action. Reads ("case.viewed") are
# in the audit log but not on the timeline, which tells the case's story.
_DESCRIPTIONS = {
    "case.opened": _("Case opened"),
    "media.added": _("Media fingerprinted and added"),
    "url.added": _("Web addresses added"),
    "url.checked": _("Web address checked"),
    "notice.generated": _("Notice drafted"),
    "notice.signed": _("Notice signed"),
    "notice.sent": _("Notice sent"),
}


@dataclass
class TimelineEntry:
    event: Event
    description: str
    detail: str


def _detail(event: Event) -> str:
    data = event.data
    if event.action == "url.added":
        return _("%(count)s added") % {"count": data.get("count", 0)}
    if event.action == "url.checked":
        status = data.get("http_status")
        return f"{data.get('outcome', '')} (HTTP {status})" if status else str(data.get("outcome", ""))
    if event.action in ("notice.generated", "notice.signed", "notice.sent"):
        return f"{data.get('basis', '')} {data.get('platform', '')}".strip()
    if event.action == "media.added" and data.get("pdq_reliable") is False:
        return _("low detail: this image may not match reliably")
    return ""


def timeline(case: Case) -> list[TimelineEntry]:
    events = case.events.exclude(action="case.viewed").select_related("actor")
    return [TimelineEntry(e, _DESCRIPTIONS.get(e.action, e.action), _detail(e)) for e in events]


def urls_with_checks(case: Case) -> QuerySet[ReportedURL]:
    return case.urls.select_related("platform").prefetch_related(
        Prefetch("checks", queryset=URLCheck.objects.order_by("-checked_at", "-id"))
    )
