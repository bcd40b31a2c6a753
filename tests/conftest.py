"""Shared fixtures: the personas from STYLE.md and the service switches.

Personas: `advocate` and `admin` (org A, may write), `viewer` (org A,
read-only), `outsider` (org B). The survivor persona arrives with the
self-service issue.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client, override_settings

from cases.models import Case, Role
from redress.celery import app as celery_app
from tests.factories import CaseFactory, MembershipFactory, OrganizationFactory, SurvivorFactory, UserFactory

VECTORS = Path(__file__).resolve().parents[1].parent / "shared" / "vectors"
PASSWORD = "correct horse battery staple"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip service-backed tests when services are not configured, unless REQUIRE_SERVICES=1."""
    configured = bool(os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("CELERY_BROKER_URL"))
    if configured or os.environ.get("REQUIRE_SERVICES") == "1":
        return
    skip = pytest.mark.skip(reason="needs DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL; CI sets them")
    for item in items:
        if item.get_closest_marker("services"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _eager_celery(request: pytest.FixtureRequest) -> Iterator[None]:
    """Unit tests run tasks in-process; `services` tests use the real broker and worker."""
    if request.node.get_closest_marker("services"):
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    # Inline, not on the in-process thread pool, so tests see results at once.
    with override_settings(INPROCESS_TASK_THREADS=0):
        yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def vectors() -> Path:
    if not VECTORS.exists():
        pytest.fail(f"Test vectors not found at {VECTORS}: ../shared must sit beside the repository")
    return VECTORS


@pytest.fixture
def org_a(db):  # type: ignore[no-untyped-def]
    return OrganizationFactory(name="Org A", slug="org-a")


@pytest.fixture
def org_b(db):  # type: ignore[no-untyped-def]
    return OrganizationFactory(name="Org B", slug="org-b")


def _member(org, role: str, name: str):  # type: ignore[no-untyped-def]
    return MembershipFactory(user=UserFactory(username=f"{name}@example.org"), organization=org, role=role).user


@pytest.fixture
def admin(org_a):  # type: ignore[no-untyped-def]
    return _member(org_a, Role.ADMIN, "admin")


@pytest.fixture
def advocate(org_a):  # type: ignore[no-untyped-def]
    return _member(org_a, Role.ADVOCATE, "advocate")


@pytest.fixture
def viewer(org_a):  # type: ignore[no-untyped-def]
    return _member(org_a, Role.VIEWER, "viewer")


@pytest.fixture
def outsider(org_b):  # type: ignore[no-untyped-def]
    return _member(org_b, Role.ADVOCATE, "outsider")


@pytest.fixture
def case(org_a) -> Case:  # type: ignore[no-untyped-def]
    return SurvivorFactory(case=CaseFactory(organization=org_a)).case


@pytest.fixture
def minor_case(org_a) -> Case:  # type: ignore[no-untyped-def]
    return SurvivorFactory(case=CaseFactory(organization=org_a, minor_path=True), under_18_in_content="yes").case


def login(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client
