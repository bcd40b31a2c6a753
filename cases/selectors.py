"""Reads for case pages: what the timeline and the URL table show."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from monitoring.models import URLCheck
from notices.catalogue import LegalBasis, get_basis, load_catalogue
from notices.choosing import propose_bases
from notices.models import Platform, PlatformKind

from .models import Case, Event, ReportedURL

# What the timeline says for each audited action. Reads ("case.viewed") are
# in the audit log but not on the timeline, which tells the case's story.
_DESCRIPTIONS = {
    "case.opened": gettext_lazy("Case opened"),
    "media.added": gettext_lazy("Media fingerprinted and added"),
    "url.added": gettext_lazy("Web addresses added"),
    "url.checked": gettext_lazy("Web address checked"),
    "url.check_requested": gettext_lazy("Checks requested"),
    "url.status_changed": gettext_lazy("Web address status changed"),
    "url.check_skipped_minor": gettext_lazy("Check skipped (under-18 path: Redress does not visit these addresses)"),
    "notice.generated": gettext_lazy("Notice drafted"),
    "notice.signed": gettext_lazy("Notice signed"),
    "notice.sent": gettext_lazy("Notice sent"),
    "notice.email_queued": gettext_lazy("Notice queued for email"),
    "notice.emailed": gettext_lazy("Notice emailed"),
    "notice.email_failed": gettext_lazy("Notice email failed; it can be sent again"),
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
        text = f"{data.get('outcome', '')} (HTTP {status})" if status else str(data.get("outcome", ""))
        verdict = data.get("match")
        return f"{text}, {_('content')}: {verdict}" if verdict else text
    if event.action == "url.status_changed":
        return f"{data.get('from', '')} → {data.get('to', '')} ({data.get('reason', '')})"
    if event.action in ("notice.generated", "notice.signed", "notice.sent", "notice.emailed", "notice.email_failed"):
        basis = load_catalogue().get(str(data.get("basis", "")))
        platform = platforms.get(str(data.get("platform", "")), data.get("platform", ""))
        parts = [basis.name if basis else "", _("to %(p)s") % {"p": platform} if platform else ""]
        if event.action in ("notice.sent", "notice.emailed") and data.get("deadline_at"):
            parts.append(_("deadline %(d)s UTC") % {"d": str(data["deadline_at"])[:16].replace("T", " ")})
        return " ".join(p for p in parts if p)
    if event.action == "media.added" and data.get("pdq_reliable") is False:
        return _("low detail: this image may not match reliably")
    return ""


def timeline(case: Case) -> list[TimelineEntry]:
    events = case.events.exclude(action="case.viewed").select_related("actor")
    platforms = dict(Platform.objects.values_list("slug", "name"))
    return [TimelineEntry(e, _DESCRIPTIONS.get(e.action, e.action), _detail(e, platforms)) for e in events]


@dataclass
class PlatformNotices:
    """One recipient on the case page: how many URLs it has and the bases that fit, with why."""

    platform: Platform
    url_count: int
    proposals: list[tuple[LegalBasis, str]]


def notice_options(case: Case, urls: list[ReportedURL]) -> list[PlatformNotices]:
    """The platforms hosting the case's URLs, then the search engines, each with proposed bases."""
    counts: dict[int, int] = {}
    platforms: dict[int, Platform] = {}
    for reported in urls:
        if reported.platform is not None:
            platforms[reported.platform.pk] = reported.platform
            counts[reported.platform.pk] = counts.get(reported.platform.pk, 0) + 1
    if urls:
        # Delisting from search covers every URL, wherever it is hosted.
        for engine in Platform.objects.filter(kind=PlatformKind.SEARCH_ENGINE, slug__in=["google", "bing"]):
            platforms.setdefault(engine.pk, engine)
            counts[engine.pk] = len(urls)
    survivor = case.survivor
    options = []
    for pk, platform in platforms.items():
        proposals = propose_bases(
            survivor_country=survivor.country,
            survivor_region=survivor.region,
            platform_jurisdiction=platform.jurisdiction,
            content_kind=case.content_kind,
            survivor_made_it=None,
            recipient_kind=platform.kind,
        )
        bases = [(get_basis(p.basis_id), p.reason) for p in proposals]
        if platform.kind == PlatformKind.SEARCH_ENGINE:
            # Each engine's own form goes to that engine only ("google-ncii-form" to Google).
            bases = [
                (b, r) for b, r in bases if "search_engine" not in b.recipient_kinds or b.id.startswith(platform.slug)
            ]
        options.append(PlatformNotices(platform, counts[pk], bases))
    return options


def urls_with_checks(case: Case) -> QuerySet[ReportedURL]:
    return case.urls.select_related("platform").prefetch_related(
        Prefetch("checks", queryset=URLCheck.objects.order_by("-checked_at", "-id"))
    )
