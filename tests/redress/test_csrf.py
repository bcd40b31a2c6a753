"""Forms keep working under Referrer-Policy: no-referrer, and CSRF still bites."""

from __future__ import annotations

import pytest
from django.test import Client

from cases.models import Case

FORM = {"pseudonym": "Robin", "country": "US", "content_kind": "real", "under_18_in_content": "no"}


def _client(advocate) -> Client:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)
    client.force_login(advocate)
    client.get("/cases/new/")  # sets the CSRF cookie
    return client


def _post(client: Client, org_id: int, **headers: str):  # type: ignore[no-untyped-def]
    token = client.cookies["csrftoken"].value
    return client.post("/cases/new/", {**FORM, "organization": org_id, "csrfmiddlewaretoken": token}, headers=headers)


@pytest.mark.django_db
def test_a_same_origin_post_with_a_null_origin_is_accepted(advocate, org_a) -> None:  # type: ignore[no-untyped-def]
    response = _post(_client(advocate), org_a.pk, Origin="null", **{"Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 302
    assert Case.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("site", ["cross-site", "same-site", "none", ""])
def test_a_null_origin_from_anywhere_else_is_refused(advocate, org_a, site) -> None:  # type: ignore[no-untyped-def]
    headers = {"Origin": "null"} | ({"Sec-Fetch-Site": site} if site else {})
    response = _post(_client(advocate), org_a.pk, **headers)
    assert response.status_code == 403
    assert b"Nothing was saved" in response.content
    assert Case.objects.count() == 0


@pytest.mark.django_db
def test_the_token_is_still_required(advocate, org_a) -> None:  # type: ignore[no-untyped-def]
    client = _client(advocate)
    response = client.post(
        "/cases/new/", {**FORM, "organization": org_a.pk}, headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    )
    assert response.status_code == 403
    assert Case.objects.count() == 0


def test_the_deploy_check_stands_in_for_djangos_csrf_checks(settings) -> None:  # type: ignore[no-untyped-def]
    from redress.checks import check_csrf

    settings.CSRF_COOKIE_SECURE = True
    assert check_csrf(None) == []
    settings.CSRF_COOKIE_SECURE = False
    assert [w.id for w in check_csrf(None)] == ["redress.W002"]
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "csrf" not in m.lower()]
    assert [w.id for w in check_csrf(None)] == ["redress.W001"]
