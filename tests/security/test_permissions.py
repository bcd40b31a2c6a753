"""The permission matrix: every URL the app serves, for every persona.

One table lists `(method, url name, kwargs builder, persona, expected status)`
for every URL pattern in `redress.urls`; a pattern the table does not list
fails the test, so a new URL cannot ship without its row. Personas:

- anonymous: pages redirect to the login page, the API answers 403;
- admin and advocate (org A): may read and write;
- viewer (org A): reads 200, every write 403;
- outsider (org B): every URL of an org A case is 404, byte for byte the same
  answer as for a reference that does not exist ("not yours" and "not found"
  are the same, never 403).

Every successful read of a case writes exactly one `case.viewed` audit event.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from cases.models import Case, Event, Organization
from cases.references import new_reference
from notices.models import Notice, Platform
from notices.services import create_notice
from tests.conftest import PASSWORD, login
from tests.factories import CaseFactory, ReportedURLFactory, SurvivorFactory

from .conftest import BASIS
from .images import small_png

ANON, ADMIN, ADVOCATE, VIEWER, OUTSIDER = "anonymous", "admin", "advocate", "viewer", "outsider"
PERSONAS = (ANON, ADMIN, ADVOCATE, VIEWER, OUTSIDER)


@dataclass(frozen=True)
class World:
    org_a: Organization
    case: Case
    signed: Notice
    draft: Notice
    # A notice of another org A case: reachable only through its own case's URLs.
    elsewhere: Notice
    reddit: Platform
    users: dict[str, User]


KwargsBuilder = Callable[[World], dict[str, Any]]


def no_kwargs(w: World) -> dict[str, Any]:
    return {}


def the_case(w: World) -> dict[str, Any]:
    return {"reference": w.case.reference}


def signed_notice(w: World) -> dict[str, Any]:
    return {"reference": w.case.reference, "notice_id": w.signed.pk}


def draft_notice(w: World) -> dict[str, Any]:
    return {"reference": w.case.reference, "notice_id": w.draft.pk}


def another_cases_notice(w: World) -> dict[str, Any]:
    return {"reference": w.case.reference, "notice_id": w.elsewhere.pk}


Row = tuple[str, str, KwargsBuilder, str, int]


def each(method: str, name: str, kwargs: KwargsBuilder, *statuses: int) -> list[Row]:
    """One row per persona, statuses in PERSONAS order."""
    assert len(statuses) == len(PERSONAS), (method, name)
    return [(method, name, kwargs, persona, status) for persona, status in zip(PERSONAS, statuses, strict=True)]


#                                                       anon adm  adv  view out
MATRIX: list[Row] = [
    *each("GET", "home", no_kwargs, 302, 302, 302, 302, 302),
    *each("GET", "healthz", no_kwargs, 200, 200, 200, 200, 200),
    *each("GET", "login", no_kwargs, 200, 302, 302, 302, 302),
    # Anonymous posts a wrong password (the form comes back); signed-in users are sent on.
    *each("POST", "login", no_kwargs, 200, 302, 302, 302, 302),
    *each("POST", "logout", no_kwargs, 302, 302, 302, 302, 302),
    *each("GET", "cases-list-cases", no_kwargs, 302, 200, 200, 200, 200),
    *each("GET", "cases-open-case", no_kwargs, 302, 200, 200, 403, 200),
    # The outsider posts org A, which is not among their choices: the form
    # comes back with an error and nothing is opened.
    *each("POST", "cases-open-case", no_kwargs, 302, 302, 302, 403, 200),
    *each("GET", "cases-view-case", the_case, 302, 200, 200, 200, 404),
    *each("POST", "cases-add-media", the_case, 302, 302, 302, 403, 404),
    *each("POST", "cases-add-urls", the_case, 302, 302, 302, 403, 404),
    *each("POST", "cases-check-urls", the_case, 302, 302, 302, 403, 404),
    *each("POST", "notices-create-notice", the_case, 302, 302, 302, 403, 404),
    *each("GET", "notices-view-notice", signed_notice, 302, 200, 200, 200, 404),
    *each("GET", "notices-view-notice", draft_notice, 302, 200, 200, 200, 404),
    *each("GET", "notices-view-notice", another_cases_notice, 302, 404, 404, 404, 404),
    *each("POST", "notices-view-notice", draft_notice, 302, 302, 302, 403, 404),  # signing
    *each("GET", "notices-download-pdf", signed_notice, 302, 200, 200, 200, 404),
    *each("GET", "notices-download-pdf", draft_notice, 302, 200, 200, 200, 404),
    *each("GET", "notices-download-pdf", another_cases_notice, 302, 404, 404, 404, 404),
    *each("POST", "notices-mark-sent", signed_notice, 302, 302, 302, 403, 404),
    *each("POST", "notices-mark-sent", another_cases_notice, 302, 404, 404, 404, 404),
    *each("GET", "api-case-list", no_kwargs, 403, 200, 200, 200, 200),
    *each("POST", "api-case-list", no_kwargs, 403, 201, 201, 403, 404),
    *each("GET", "api-case-detail", the_case, 403, 200, 200, 200, 404),
    # No one deletes a case through the API (405 is decided before the lookup).
    *each("DELETE", "api-case-detail", the_case, 403, 405, 405, 405, 405),
    *each("GET", "api-case-urls", the_case, 403, 200, 200, 200, 404),
    *each("POST", "api-case-urls", the_case, 403, 201, 201, 403, 404),
    *each("GET", "api-case-media", the_case, 403, 200, 200, 200, 404),
    *each("POST", "api-case-media", the_case, 403, 201, 201, 403, 404),
    *each("GET", "api-case-notices", the_case, 403, 200, 200, 200, 404),
    *each("POST", "api-case-notices", the_case, 403, 201, 201, 403, 404),
    *each("GET", "api-case-notice", signed_notice, 403, 200, 200, 200, 404),
    *each("GET", "api-case-notice", another_cases_notice, 403, 404, 404, 404, 404),
    # Anonymous sends the advocate's credentials; the others their own.
    *each("POST", "api-obtain-token", no_kwargs, 200, 200, 200, 200, 200),
    *each("GET", "api-obtain-token", no_kwargs, 405, 405, 405, 405, 405),
    *each("GET", "api-schema", no_kwargs, 403, 200, 200, 200, 200),
    # Org roles are not Django staff: the admin site sends everyone to its login.
    *each("GET", "admin:index", no_kwargs, 302, 302, 302, 302, 302),
]


# --- What each request sends --------------------------------------------------

Payload = tuple[dict[str, Any] | str, str | None]  # (data, content type; None = multipart form)


def _json(data: dict[str, Any]) -> Payload:
    return json.dumps(data), "application/json"


def _form(data: dict[str, Any]) -> Payload:
    return data, None


PAYLOADS: dict[tuple[str, str], Callable[[World, str], Payload]] = {
    ("POST", "login"): lambda w, p: _form({"username": "advocate@example.org", "password": "wrong " + PASSWORD}),
    ("POST", "logout"): lambda w, p: _form({}),
    ("POST", "cases-open-case"): lambda w, p: _form(
        {
            "organization": w.org_a.pk,
            "pseudonym": "Sam",
            "country": "US",
            "content_kind": "unknown",
            "under_18_in_content": "no",
            "once": new_reference(),
        }
    ),
    ("POST", "cases-add-media"): lambda w, p: _form(
        {"file": SimpleUploadedFile("photo.png", small_png(), content_type="image/png"), "label": "x"}
    ),
    ("POST", "cases-add-urls"): lambda w, p: _form({"urls": "https://www.reddit.com/r/x/comments/matrix/"}),
    ("POST", "cases-check-urls"): lambda w, p: _form({}),
    ("POST", "notices-create-notice"): lambda w, p: _form(
        {"platform": w.reddit.pk, "basis": BASIS, "once": new_reference()}
    ),
    ("POST", "notices-view-notice"): lambda w, p: _form(
        {"full_name": "Alex Advocate", "capacity": "representative", "attest": "on"}
    ),
    ("POST", "notices-mark-sent"): lambda w, p: _form({}),
    ("POST", "api-case-list"): lambda w, p: _json(
        {"organization": "org-a", "pseudonym": "Sam", "country": "US", "under_18_in_content": "no"}
    ),
    ("POST", "api-case-urls"): lambda w, p: _json({"urls": ["https://www.reddit.com/r/x/comments/api/"]}),
    ("POST", "api-case-media"): lambda w, p: _json({"pdq": "f" * 64, "pdq_quality": 90}),
    ("POST", "api-case-notices"): lambda w, p: _json({"platform": "reddit", "basis": BASIS}),
    ("POST", "api-obtain-token"): lambda w, p: _form(
        {"username": w.users.get(p, w.users[ADVOCATE]).username, "password": PASSWORD}
    ),
}


def _request(client: Client, method: str, url: str, payload: Payload | None) -> HttpResponse:
    if payload is None:
        return client.generic(method, url)
    data, content_type = payload
    if content_type is None:
        assert method == "POST"
        return client.post(url, data)
    return client.generic(method, url, data, content_type=content_type)


# --- Walking the URL configuration --------------------------------------------


def _served(patterns: list[URLPattern | URLResolver], namespace: str = "", prefix: str = "") -> Iterator[str]:
    """The name of every URL pattern, namespaced ("admin:index"); unnamed ones by their route."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}".strip(":") if pattern.namespace else namespace
            yield from _served(pattern.url_patterns, inner, prefix + str(pattern.pattern))
        else:
            name = pattern.name or f"<unnamed {prefix}{pattern.pattern}>"
            yield f"{namespace}:{name}" if namespace else name


def served_url_names() -> set[str]:
    names = set(_served(get_resolver().url_patterns))
    # The admin's own pages (model lists, password changes…) are Django's; its
    # index stands for them, since every admin view shares its staff check.
    return {n for n in names if not n.startswith("admin:") or n == "admin:index"}


# --- Comparing a "not yours" with a "not found" ------------------------------

_CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')


def _normalised(response: HttpResponse) -> bytes:
    body = response.content if not getattr(response, "streaming", False) else b"".join(response.streaming_content)
    return _CSRF.sub(b'name="csrfmiddlewaretoken" value=""', body)


def _case_views(world: World, user: User | None) -> int:
    return Event.objects.filter(case=world.case, action="case.viewed", actor=user).count()


# --- The test -------------------------------------------------------------------


@pytest.fixture
def world(org_a, org_b, admin, advocate, viewer, outsider, case, reddit, draft_notice, signed_notice) -> World:  # type: ignore[no-untyped-def]
    other = SurvivorFactory(case=CaseFactory(organization=org_a)).case
    ReportedURLFactory(case=other, platform=reddit, url="https://www.reddit.com/r/x/comments/other/")
    elsewhere = create_notice(other, reddit, BASIS, actor=advocate)
    return World(
        org_a=org_a,
        case=case,
        signed=signed_notice,
        draft=draft_notice,
        elsewhere=elsewhere,
        reddit=reddit,
        users={ADMIN: admin, ADVOCATE: advocate, VIEWER: viewer, OUTSIDER: outsider},
    )


def test_every_url_answers_every_persona_as_the_matrix_says(world: World) -> None:
    served = served_url_names()
    listed = {name for _m, name, _k, _p, _s in MATRIX}
    assert not served - listed, f"URLs missing from the permission matrix: {sorted(served - listed)}"
    assert not listed - served, f"The matrix lists URLs the app does not serve: {sorted(listed - served)}"
    groups: dict[tuple[str, str, str], set[str]] = {}
    for method, name, kwargs, persona, _status in MATRIX:
        groups.setdefault((method, name, kwargs.__name__), set()).add(persona)
    incomplete = {key: set(PERSONAS) - seen for key, seen in groups.items() if seen != set(PERSONAS)}
    assert not incomplete, f"Rows without every persona: {incomplete}"

    failures: list[str] = []
    for method, name, build, persona, expected in MATRIX:
        # Each row runs in a savepoint rolled back afterwards, so rows do not
        # depend on each other (a notice signed by one row is a draft for the next).
        with transaction.atomic():
            failures += _check_row(world, method, name, build, persona, expected)
            transaction.set_rollback(True)
    assert not failures, "\n".join(failures)


def _check_row(world: World, method: str, name: str, build: KwargsBuilder, persona: str, expected: int) -> list[str]:
    user = world.users.get(persona)
    client = login(user) if user is not None else Client()
    kwargs = build(world)
    url = reverse(name, kwargs=kwargs)
    payload_for = PAYLOADS.get((method, name))
    label = f"{method} {url} ({name}, {build.__name__}) as {persona}"
    views_before = _case_views(world, user)
    response = _request(client, method, url, payload_for(world, persona) if payload_for else None)
    problems: list[str] = []
    if response.status_code != expected:
        problems.append(f"{label}: expected {expected}, got {response.status_code}")
    anonymous_redirect = persona == ANON and response.status_code == 302 and not url.startswith("/api/")
    if anonymous_redirect and "login" not in response["Location"]:
        problems.append(f"{label}: anonymous redirected to {response['Location']}, not to a login page")
    if method == "GET" and "reference" in kwargs and user is not None:
        # Every read of a case the user may see is audited once, including a
        # read that then finds no such notice in it; an outsider's is not a read.
        new_views = _case_views(world, user) - views_before
        wanted = 0 if persona == OUTSIDER else 1
        if new_views != wanted:
            problems.append(f"{label}: {new_views} case.viewed events written, expected {wanted}")
    if persona == OUTSIDER and "reference" in kwargs:
        problems += _compare_with_missing_case(client, method, name, kwargs, response, label, world, persona)
    return problems


def _compare_with_missing_case(
    client: Client,
    method: str,
    name: str,
    kwargs: dict[str, Any],
    response: HttpResponse,
    label: str,
    world: World,
    persona: str,
) -> list[str]:
    """An org A case must look exactly like a case that does not exist."""
    missing_url = reverse(name, kwargs={**kwargs, "reference": new_reference()})
    payload_for = PAYLOADS.get((method, name))
    events_before = Event.objects.count()
    missing = _request(client, method, missing_url, payload_for(world, persona) if payload_for else None)
    problems = []
    if missing.status_code != response.status_code:
        problems.append(f"{label}: {response.status_code}, but {missing.status_code} for a missing case")
    elif _normalised(missing) != _normalised(response):
        problems.append(f"{label}: the body differs from the one for a missing case")
    if Event.objects.count() != events_before:
        problems.append(f"{label}: a request for a missing case wrote an event")
    return problems
