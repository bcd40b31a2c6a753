"""Fixtures shared by the security tests: notices on a known platform, row counts."""

from __future__ import annotations

import pytest

from cases.models import Case, ReportedURL
from hashing.models import Hash, MediaItem
from notices.models import Notice, Platform
from notices.services import create_notice, sign_notice
from tests.factories import ReportedURLFactory

BASIS = "us-take-it-down"


@pytest.fixture
def reddit(db) -> Platform:  # type: ignore[no-untyped-def]
    # From the starter platform directory, loaded by a data migration.
    return Platform.objects.get(slug="reddit")


@pytest.fixture
def reported_url(case, reddit) -> ReportedURL:  # type: ignore[no-untyped-def]
    return ReportedURLFactory(case=case, platform=reddit, url="https://www.reddit.com/r/x/comments/abc/")


@pytest.fixture
def draft_notice(case, reddit, reported_url, advocate) -> Notice:  # type: ignore[no-untyped-def]
    return create_notice(case, reddit, BASIS, actor=advocate)


@pytest.fixture
def signed_notice(case, reddit, reported_url, advocate) -> Notice:  # type: ignore[no-untyped-def]
    notice = create_notice(case, reddit, BASIS, actor=advocate)
    return sign_notice(notice, actor=advocate, full_name="Alex Advocate", capacity="representative", attested=True)


def row_counts() -> dict[str, int]:
    """Rows of everything a request could half-save."""
    return {model.__name__: model.objects.count() for model in (Case, MediaItem, Hash, ReportedURL, Notice)}
