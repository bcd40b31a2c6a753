"""Opening cases, adding URLs, references and encryption at rest."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from cases.errors import CaseError
from cases.models import Case, Event, ReportedURL, Survivor
from cases.references import ALPHABET, clean_reference, new_reference
from cases.services import MAX_URLS_PER_PASTE, SurvivorDetails, add_urls, get_case_for, open_case
from cases.urlnorm import normalise_url


def _details(**overrides: object) -> SurvivorDetails:
    values: dict[str, object] = {"country": "US", "under_18_in_content": "no", "pseudonym": "Robin"}
    values.update(overrides)
    return SurvivorDetails(**values)  # type: ignore[arg-type]


def test_an_advocate_opens_a_case(advocate, org_a) -> None:  # type: ignore[no-untyped-def]
    case = open_case(actor=advocate, organization=org_a, details=_details(email="robin@example.org"))
    assert case.reference.startswith("RD-") and not case.minor_path
    assert case.survivor.email == "robin@example.org"
    assert Event.objects.filter(case=case, action="case.opened", actor=advocate).exists()


@pytest.mark.parametrize("answer", ["yes", "unsure"])
def test_under_18_or_unsure_takes_the_minors_path(advocate, org_a, answer) -> None:  # type: ignore[no-untyped-def]
    case = open_case(actor=advocate, organization=org_a, details=_details(under_18_in_content=answer))
    assert case.minor_path


def test_a_viewer_or_outsider_cannot_open_a_case(viewer, outsider, org_a) -> None:  # type: ignore[no-untyped-def]
    for user in (viewer, outsider):
        with pytest.raises(CaseError):
            open_case(actor=user, organization=org_a, details=_details())
    assert Case.objects.count() == 0


def test_a_case_needs_a_name_and_an_age_answer(advocate, org_a) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CaseError, match="name or a pseudonym"):
        open_case(actor=advocate, organization=org_a, details=_details(pseudonym=""))
    with pytest.raises(CaseError, match="age question"):
        open_case(actor=advocate, organization=org_a, details=_details(under_18_in_content=""))
    assert Case.objects.count() == 0 and Survivor.objects.count() == 0


def test_personal_data_is_encrypted_at_rest(advocate, org_a) -> None:  # type: ignore[no-untyped-def]
    case = open_case(
        actor=advocate, organization=org_a, details=_details(legal_name="Zelda Quixote", email="zq@example.org")
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT legal_name, email FROM cases_survivor WHERE case_id = %s", [case.pk])
        raw = cursor.fetchone()
    assert "Zelda" not in raw[0] and "zq@" not in raw[1]
    assert Survivor.objects.get(case=case).legal_name == "Zelda Quixote"


def test_keys_rotate_without_losing_data(advocate, org_a, settings) -> None:  # type: ignore[no-untyped-def]
    case = open_case(actor=advocate, organization=org_a, details=_details(legal_name="Zelda Quixote"))
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *settings.FIELD_ENCRYPTION_KEYS]
    call_command("rotate_encryption_keys")
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is gone
    assert Survivor.objects.get(case=case).legal_name == "Zelda Quixote"


def test_references_are_readable_and_forgiving() -> None:
    reference = new_reference()
    body = reference.removeprefix("RD-").replace("-", "")
    assert len(body) == 12 and set(body) <= set(ALPHABET)
    assert len({new_reference() for _ in range(1000)}) == 1000
    assert clean_reference(" rd-0o1l-abcd-efgh ") == "RD-0011-ABCD-EFGH"


def test_get_case_for_is_the_same_404_for_missing_and_not_yours(case, outsider) -> None:  # type: ignore[no-untyped-def]
    from django.http import Http404

    with pytest.raises(Http404) as not_yours:
        get_case_for(outsider, case.reference)
    with pytest.raises(Http404) as missing:
        get_case_for(outsider, "RD-0000-0000-0000")
    assert str(not_yours.value) == str(missing.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTPS://WWW.Reddit.COM:443/r/x/?utm_source=tw&id=3#top", "https://www.reddit.com/r/x/?id=3"),
        ("reddit.com/r/x", "https://reddit.com/r/x"),
        ("http://example.com:8080", "http://example.com:8080/"),
        ("https://user:pw@example.com/a", "https://example.com/a"),
        ("https://bücher.example/a?fbclid=1", "https://xn--bcher-kva.example/a"),
    ],
)
def test_urls_are_normalised(raw: str, expected: str) -> None:
    assert normalise_url(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "javascript:alert(1)",
        "data:text/html,hi",
        "file:///etc/passwd",
        "ftp://a.com/x",
        "http://",
        "nonsense",
        "http://0x7f.0.0.1/",
        "http://0177.0.0.1/",
    ],
)
def test_bad_urls_are_refused_with_a_reason(raw: str) -> None:
    with pytest.raises(CaseError):
        normalise_url(raw)


def test_pasted_urls_are_deduplicated_and_mapped_to_platforms(case, advocate) -> None:  # type: ignore[no-untyped-def]
    lines = [
        "https://www.reddit.com/r/x/1?utm_source=a",
        "https://www.reddit.com/r/x/1",
        "https://old.reddit.com/r/x/2",
        "https://unknown-host.example/page",
        "javascript:alert(1)",
    ]
    result = add_urls(case, lines, actor=advocate)
    assert [u.url for u in result.added] == [
        "https://www.reddit.com/r/x/1",
        "https://old.reddit.com/r/x/2",
        "https://unknown-host.example/page",
    ]
    assert result.duplicates == ["https://www.reddit.com/r/x/1"]
    assert [(n, reason[:12]) for n, _t, reason in result.errors] == [(5, "Only web add")]
    platforms = {u.url: (u.platform.slug if u.platform else None, u.domain) for u in case.urls.all()}
    assert platforms["https://old.reddit.com/r/x/2"] == ("reddit", "reddit.com")
    assert platforms["https://unknown-host.example/page"] == (None, "unknown-host.example")
    again = add_urls(case, ["https://old.reddit.com/r/x/2"], actor=advocate)
    assert again.added == [] and len(again.duplicates) == 1


def test_a_huge_paste_is_refused_whole(case, advocate) -> None:  # type: ignore[no-untyped-def]
    lines = [f"https://example.com/{n}" for n in range(MAX_URLS_PER_PASTE + 1)]
    with pytest.raises(CaseError, match="at most"):
        add_urls(case, lines, actor=advocate)
    assert ReportedURL.objects.count() == 0


def test_adding_urls_queues_a_check_after_commit(case, advocate, django_capture_on_commit_callbacks, monkeypatch):  # type: ignore[no-untyped-def]
    queued: list[int] = []
    monkeypatch.setattr("monitoring.tasks.check_url.delay", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        result = add_urls(case, ["https://www.reddit.com/r/a/1", "https://www.reddit.com/r/a/2"], actor=advocate)
    assert queued == [u.pk for u in result.added]


def test_a_minors_case_queues_no_check(minor_case, advocate, django_capture_on_commit_callbacks, monkeypatch):  # type: ignore[no-untyped-def]
    queued: list[int] = []
    monkeypatch.setattr("monitoring.tasks.check_url.delay", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        result = add_urls(minor_case, ["https://www.reddit.com/r/a/1"], actor=advocate)
    assert len(result.added) == 1 and queued == []


def test_a_minors_case_stores_no_hashes_even_from_the_device(minor_case, advocate) -> None:  # type: ignore[no-untyped-def]
    from hashing.models import MediaItem
    from hashing.services import add_client_hashes

    with pytest.raises(CaseError, match="Take It Down"):
        add_client_hashes(minor_case, actor=advocate, hashes={"sha256": "a" * 64}, pdq_quality=None)
    assert MediaItem.objects.count() == 0


def test_a_csv_of_urls_is_read_from_its_url_column() -> None:
    from cases.services import urls_from_csv

    data = "\ufeffNote,URL\nfirst,https://www.reddit.com/r/a/1\n,\nsecond,https://x.com/a/status/2\n".encode()
    assert urls_from_csv(data) == ["https://www.reddit.com/r/a/1", "https://x.com/a/status/2"]
    assert urls_from_csv(b"https://a.example/1\nhttps://a.example/2\n") == [
        "https://a.example/1",
        "https://a.example/2",
    ]
    assert urls_from_csv("https://caf\xe9.example/1\n".encode("cp1252")) == ["https://caf\xe9.example/1"]


def test_urls_in_other_cases_of_the_organisation_are_flagged(case, advocate, org_a) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import CaseFactory, SurvivorFactory

    other = SurvivorFactory(case=CaseFactory(organization=org_a)).case
    add_urls(other, ["https://www.reddit.com/r/a/1"], actor=advocate)
    result = add_urls(case, ["https://www.reddit.com/r/a/1", "https://www.reddit.com/r/a/2"], actor=advocate)
    assert len(result.added) == 2
    assert result.elsewhere == {"https://www.reddit.com/r/a/1": [other.reference]}


def test_the_case_page_takes_a_csv_upload(case, advocate) -> None:  # type: ignore[no-untyped-def]
    import io

    from tests.conftest import login

    upload = io.BytesIO(b"url\nhttps://www.reddit.com/r/a/1\njavascript:alert(1)\n")
    upload.name = "links.csv"
    response = login(advocate).post(f"/cases/{case.reference}/urls/", {"urls": "", "csv_file": upload})
    assert response.status_code == 200
    assert [u.url for u in case.urls.all()] == ["https://www.reddit.com/r/a/1"]
    assert "javascript:alert(1)" in response.content.decode()
