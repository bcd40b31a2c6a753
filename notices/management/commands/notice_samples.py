"""Render every legal basis for a fictitious sample case: DIR/<basis-id>.html, .pdf and .txt.

For the documentation, and for a lawyer to review every template at once.
Nothing is kept: the sample organisation, case, platforms and notices are
created in a transaction that is rolled back at the end, so the command is
safe on a production database and works on a freshly migrated one.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from cases.models import Case, Organization, ReportedURL, Survivor
from notices.catalogue import LegalBasis, load_catalogue
from notices.models import Notice, Platform, SignerCapacity
from notices.render import missing_elements, render_notice_html, render_notice_text, render_pdf

# Where the fictitious survivor lives and what the content is, per basis, so
# that each sample shows the basis as it is meant to be used (SB 981 needs a
# California resident and an AI image; eSafety a link to Australia; the DSA a
# member state whose offence it can cite).
SCENARIOS: dict[str, tuple[str, str, str]] = {
    "us-take-it-down": ("US", "CA", "ai"),
    "us-dmca-512c3": ("US", "CA", "real"),
    "us-ca-sb981": ("US", "CA", "ai"),
    "us-ca-civ-1708": ("US", "CA", "ai"),
    "eu-dsa-art16": ("FR", "", "ai"),
    "eu-gdpr-art17": ("DE", "", "real"),
    "uk-osa-s20a": ("GB", "", "ai"),
    "uk-gdpr-art17": ("GB", "", "real"),
    "au-esafety": ("AU", "NSW", "ai"),
    "ca-bc-iipa": ("CA", "BC", "ai"),
    "google-ncii-form": ("US", "CA", "ai"),
    "bing-ncii-form": ("US", "CA", "real"),
}
DEFAULT_SCENARIO = ("US", "CA", "ai")
SAMPLE_URLS = [
    "https://example-social.test/u/throwaway_4471/posts/88213",
    "https://example-social.test/u/throwaway_4471/posts/88214",
    "https://cdn.example-social.test/media/9f3c2a.jpg",
]
# A fixed signing time, so two runs give the same text and a reviewer can diff them.
SIGNED_AT = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC)


class _Rollback(Exception):
    """Raised to leave the sample transaction without keeping anything."""


class Command(BaseCommand):
    help = "Render every legal basis for a fictitious sample case into DIR/<basis-id>.html, .pdf and .txt."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--out", required=True, help="Directory to write the samples to (created if missing).")
        parser.add_argument("--basis", action="append", default=[], help="Only this basis id (repeatable).")

    def handle(self, *args: Any, out: str, basis: list[str], **options: Any) -> None:
        catalogue = load_catalogue()
        unknown = sorted(set(basis) - set(catalogue))
        if unknown:
            raise CommandError(f"No such legal basis: {', '.join(unknown)}")
        bases = [catalogue[b] for b in (basis or sorted(catalogue))]
        directory = Path(out)
        directory.mkdir(parents=True, exist_ok=True)
        try:
            with transaction.atomic():
                self._render_all(bases, directory)
                raise _Rollback
        except _Rollback:
            pass
        self.stdout.write(self.style.SUCCESS(f"Wrote {len(bases)} samples (HTML, PDF, text) to {directory}"))

    def _render_all(self, bases: list[LegalBasis], directory: Path) -> None:
        org = Organization.objects.create(name="Example Support Service", slug="sample-notices-org")
        advocate = get_user_model()(username="sample-advocate@example.org", email="advocate@example.org")
        advocate.set_unusable_password()
        advocate.save()
        case = Case.objects.create(organization=org, reference="RD-SAMP-1E00-0000", content_kind="ai")
        survivor = Survivor.objects.create(
            case=case,
            pseudonym="Sam",
            legal_name="Sam Example",
            email="sam@example.org",
            phone="+1 555 0100",
            country="US",
            consent_act_on_behalf=True,
            under_18_in_content="no",
        )
        social = Platform.objects.create(
            slug="sample-example-social",
            name="Example Social",
            domains=["example-social.test"],
            jurisdiction="US",
            ncii_email="safety@example-social.test",
            dmca_email="copyright-agent@example-social.test",
        )
        search = {
            "google-ncii-form": Platform.objects.create(slug="sample-google", name="Google Search", jurisdiction="US"),
            "bing-ncii-form": Platform.objects.create(slug="sample-bing", name="Bing", jurisdiction="US"),
        }
        urls = [
            ReportedURL.objects.create(case=case, url=u, domain="example-social.test", platform=social)
            for u in SAMPLE_URLS
        ]
        for basis in bases:
            country, region, kind = SCENARIOS.get(basis.id, DEFAULT_SCENARIO)
            survivor.country, survivor.region = country, region
            survivor.save(update_fields=["country", "region"])
            case.content_kind = kind
            case.save(update_fields=["content_kind"])
            notice = Notice.objects.create(case=case, platform=search.get(basis.id, social), basis=basis.id)
            notice.urls.set(urls)
            # Signed as sign_notice would sign it (without storing anything):
            # by the advocate where the law lets a representative send, else
            # by the survivor.
            representative = SignerCapacity.REPRESENTATIVE in basis.who_may_send
            notice.signer_capacity = SignerCapacity.REPRESENTATIVE if representative else SignerCapacity.SELF
            notice.signer_name = "Alex Advocate" if representative else survivor.legal_name
            notice.signed_by = advocate
            notice.signed_at = SIGNED_AT
            html = render_notice_html(notice)
            missing = missing_elements(basis, html)
            if missing:
                raise CommandError(f"{basis.id}: the sample lacks {', '.join(missing)}")
            (directory / f"{basis.id}.html").write_text(html)
            (directory / f"{basis.id}.txt").write_text(render_notice_text(notice))
            (directory / f"{basis.id}.pdf").write_bytes(render_pdf(html))
            self.stdout.write(f"  {basis.id}")
