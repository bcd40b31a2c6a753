"""The platform directory: a shipped data file, mirrored into the Platform table.

URLs map to platforms by registrable domain (eTLD+1) using the Public Suffix
List that tldextract bundles, so no network is needed at run time.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tldextract

DATA_FILE = Path(__file__).resolve().parent / "data" / "platforms.json"

# suffix_list_urls=() keeps tldextract on its bundled snapshot: no fetch, no cache dir.
_extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def registrable_domain(url: str) -> str:
    """'https://old.reddit.com/r/x' -> 'reddit.com'; IP hosts are returned as they are."""
    host = urlsplit(url).hostname or ""
    parts = _extract(host)
    return parts.top_domain_under_public_suffix or host


@cache
def _directory() -> dict[str, Any]:
    return json.loads(DATA_FILE.read_text())


class PlatformMatcher:
    """Maps URLs to platforms; loads the table once, so a paste of hundreds costs one query."""

    def __init__(self) -> None:
        from .models import Platform

        self.by_domain: dict[str, Platform] = {}
        for platform in Platform.objects.all():
            for domain in platform.domains:
                self.by_domain[domain.lower()] = platform

    def __call__(self, url: str) -> tuple[str, Any]:
        """The URL's registrable domain and the Platform serving it, or None if unknown."""
        domain = registrable_domain(url)
        return domain, self.by_domain.get(domain)


def sync_directory() -> int:
    """Create platforms from the data file that the table lacks; returns how many.

    Existing rows are left alone: operators correct entries in the admin, and
    a new release must not overwrite their edits.
    """
    from .models import Platform

    data = _directory()
    as_of = dt.date.fromisoformat(data["as_of"])
    created = 0
    for entry in data["platforms"]:
        _obj, was_created = Platform.objects.get_or_create(
            slug=entry["slug"],
            defaults={
                "name": entry["name"],
                "kind": entry.get("kind", "platform"),
                "domains": entry["domains"],
                "ncii_email": entry.get("ncii_email", ""),
                "report_form_url": entry.get("report_form_url", ""),
                "dmca_email": entry.get("dmca_email", ""),
                "jurisdiction": entry.get("jurisdiction", ""),
                "stopncii_partner": entry.get("stopncii_partner", False),
                "as_of": as_of,
            },
        )
        created += was_created
    return created


def sync_after_migrate(sender: Any, **kwargs: Any) -> None:
    sync_directory()
