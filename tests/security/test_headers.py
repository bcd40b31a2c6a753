"""Least exposure (DESIGN.md, principle 3): headers, page contents, production settings, PII at rest.

- Case pages and API responses are never cached, send no referrer, cannot be
  framed, and carry a CSP that allows only our own origin.
- Every HTML page has the quick-exit control and loads nothing from another
  origin; the quick-exit link is the only link that leaves the site.
- `manage.py check --deploy` is clean in a production-like environment, and
  production refuses to start with an unsafe or missing setting.
- Survivors' personal data is stored encrypted, and only the model reads it.
"""

from __future__ import annotations

import os
import secrets
import string
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.urls import reverse

from cases.models import Case, Organization, Survivor
from cases.services import SurvivorDetails, open_case
from notices.models import Notice
from notices.services import create_notice, sign_notice
from tests.conftest import login
from tests.factories import ReportedURLFactory

from .conftest import BASIS
from .leaks import database_dump

BASE_DIR = Path(django_settings.BASE_DIR)

# --- What the pages and the API send -------------------------------------------------------


@pytest.fixture
def responses(  # type: ignore[no-untyped-def]
    case, minor_case, advocate, viewer, signed_notice, draft_notice
) -> dict[str, Any]:
    """Every kind of page and API answer, by a name for the failure messages."""
    staff, reader, anonymous = login(advocate), login(viewer), Client()
    ref = case.reference
    return {
        "login page": anonymous.get(reverse("login")),
        "404 page, anonymous": anonymous.get("/no/such/page/"),
        "case list": staff.get(reverse("cases-list-cases")),
        "open-case form": staff.get(reverse("cases-open-case")),
        "open-case form refused (403)": reader.get(reverse("cases-open-case")),
        "case page": staff.get(reverse("cases-view-case", args=[ref])),
        "case page, viewer": reader.get(reverse("cases-view-case", args=[ref])),
        "minor case page": staff.get(reverse("cases-view-case", args=[minor_case.reference])),
        "case 404 page": staff.get(reverse("cases-view-case", args=["RD-0000-0000-0000"])),
        "signed notice page": staff.get(reverse("notices-view-notice", args=[ref, signed_notice.pk])),
        "draft notice page": staff.get(reverse("notices-view-notice", args=[ref, draft_notice.pk])),
        "notice PDF": staff.get(reverse("notices-download-pdf", args=[ref, signed_notice.pk])),
        "API case list": staff.get(reverse("api-case-list")),
        "API case": staff.get(reverse("api-case-detail", args=[ref])),
        "API case 404": staff.get(reverse("api-case-detail", args=["RD-0000-0000-0000"])),
        "API anonymous 403": anonymous.get(reverse("api-case-detail", args=[ref])),
        "API media": staff.get(reverse("api-case-media", args=[ref])),
        "API URLs": staff.get(reverse("api-case-urls", args=[ref])),
        "API notices": staff.get(reverse("api-case-notices", args=[ref])),
        "API notice": staff.get(reverse("api-case-notice", args=[ref, signed_notice.pk])),
        "API schema": staff.get(reverse("api-schema")),
    }


def _html(responses: dict[str, Any]) -> dict[str, Any]:
    pages = {name: r for name, r in responses.items() if r["Content-Type"].startswith("text/html")}
    assert len(pages) >= 10, sorted(pages)
    return pages


def test_nothing_personal_is_cached_referred_or_framed(responses: dict[str, Any]) -> None:
    problems = []
    for name, response in responses.items():
        cache = {d.strip().split("=")[0] for d in response.get("Cache-Control", "").split(",")}
        if "no-store" not in cache:
            problems.append(f"{name}: Cache-Control is {response.get('Cache-Control')!r}")
        if response.get("Referrer-Policy") != "no-referrer":
            problems.append(f"{name}: Referrer-Policy is {response.get('Referrer-Policy')!r}")
        if response.get("X-Frame-Options") != "DENY":
            problems.append(f"{name}: X-Frame-Options is {response.get('X-Frame-Options')!r}")
        if response.get("X-Content-Type-Options") != "nosniff":
            problems.append(f"{name}: X-Content-Type-Options is {response.get('X-Content-Type-Options')!r}")
    assert not problems, "\n".join(problems)


def parse_csp(header: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def test_the_content_security_policy_allows_our_own_origin_only(responses: dict[str, Any]) -> None:
    problems = []
    for name, response in responses.items():
        header = response.get("Content-Security-Policy")
        if not header:
            problems.append(f"{name}: no Content-Security-Policy")
            continue
        policy = parse_csp(header)
        for directive, sources in policy.items():
            if not sources or any(s not in ("'self'", "'none'") for s in sources):
                problems.append(f"{name}: {directive} allows {sources}")
        for directive in ("default-src", "script-src", "style-src", "img-src", "connect-src", "form-action"):
            if directive not in policy:
                problems.append(f"{name}: no {directive}")
        for directive in ("object-src", "frame-ancestors", "base-uri"):
            if policy.get(directive) != ["'none'"]:
                problems.append(f"{name}: {directive} is {policy.get(directive)}, not 'none'")
    assert not problems, "\n".join(problems)


class PageReferences(HTMLParser):
    """Everything a page points at, and what a strict CSP would block on it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.references: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.quick_exits: list[str] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if values.get("id") == "quick-exit":
            self.quick_exits.append(values.get("href", ""))
        for attribute in ("src", "href", "srcset", "action", "formaction", "poster", "data", "xlink:href"):
            if attribute in values and values.get("id") != "quick-exit":
                self.references.append((tag, attribute, values[attribute]))
        if tag == "iframe" and "srcdoc" in values:
            # The preview's document: it may not load anything from elsewhere either.
            inner = PageReferences()
            inner.feed(values["srcdoc"])
            self.references += [(f"iframe srcdoc {t}", a, v) for t, a, v in inner.references]
        for attribute in values:
            if attribute.startswith("on") or attribute == "style":
                self.inline.append(f"<{tag} {attribute}=...>")
        if tag == "script" and "src" not in values:
            self.inline.append("<script> without src")


def _leaves_the_site(value: str) -> bool:
    value = value.strip().lower()
    if value.startswith("//"):
        return True
    scheme = value.split(":", 1)[0] if ":" in value.split("/", 1)[0] else ""
    return bool(scheme)


def test_every_page_has_a_quick_exit_and_loads_nothing_from_elsewhere(responses: dict[str, Any]) -> None:
    problems = []
    for name, response in _html(responses).items():
        page = PageReferences()
        page.feed(response.content.decode())
        if page.quick_exits != [django_settings.QUICK_EXIT_URL]:
            problems.append(f"{name}: quick-exit links {page.quick_exits}")
        problems += [f"{name}: <{t} {a}={v!r}> leaves the site" for t, a, v in page.references if _leaves_the_site(v)]
    assert not problems, "\n".join(problems)


def test_no_page_relies_on_inline_script_or_style_the_policy_blocks(responses: dict[str, Any]) -> None:
    problems = []
    for name, response in _html(responses).items():
        page = PageReferences()
        page.feed(response.content.decode())
        problems += [f"{name}: {item}" for item in page.inline]
    assert not problems, "\n".join(problems)


# --- Production settings ----------------------------------------------------------------------


def production_env(tmp_path: Path, **changes: str | None) -> dict[str, str]:
    alphabet = string.ascii_letters + string.digits
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "REDRESS_ENV": "production",
        "SECRET_KEY": "".join(secrets.choice(alphabet) for _ in range(64)),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "redress.example.org",
        "DEBUG": "0",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDRESS_VAR_DIR": str(tmp_path / "var"),
    }
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_deploy_check_is_clean_in_production(tmp_path: Path) -> None:
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"FETCH_ALLOW_LOOPBACK": "1"}, "FETCH_ALLOW_LOOPBACK"),
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"FIELD_ENCRYPTION_KEYS": None}, "FIELD_ENCRYPTION_KEYS"),
        ({"DEBUG": "1"}, "DEBUG"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS"),
    ],
    ids=["loopback-fetching", "no-secret-key", "no-encryption-keys", "debug", "no-allowed-hosts"],
)
def test_production_refuses_to_start_with_an_unsafe_setting(
    tmp_path: Path, changes: dict[str, str | None], named: str
) -> None:
    result = manage(production_env(tmp_path, **changes), "check")
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr.strip().splitlines()[-1], result.stderr[-2000:]


# --- Personal data at rest -------------------------------------------------------------------------

LEGAL_NAME = "Zephyrine Quillfeather-Okonkwo"
EMAIL = "zq.private.7731@example.net"
PHONE = "+44 7700 900731"
PSEUDONYM = "Marigold Tern"
SIGNER = "Ottoline Brackenbury"


def test_personal_data_is_encrypted_at_rest_and_read_through_the_model(
    org_a: Organization, advocate: Any, reddit: Any
) -> None:
    case: Case = open_case(
        actor=advocate,
        organization=org_a,
        details=SurvivorDetails(
            country="GB",
            under_18_in_content="no",
            pseudonym=PSEUDONYM,
            legal_name=LEGAL_NAME,
            email=EMAIL,
            phone=PHONE,
            consent_act_on_behalf=True,
        ),
    )
    # A signed notice carries personal details (the signer's name, contacts) in its frozen copies.
    ReportedURLFactory(case=case, platform=reddit)
    notice: Notice = sign_notice(
        create_notice(case, reddit, BASIS, actor=advocate),
        actor=advocate,
        full_name=SIGNER,
        capacity="representative",
        attested=True,
    )
    survivor = Survivor.objects.get(case=case)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT pseudonym, legal_name, email, phone FROM {Survivor._meta.db_table} WHERE id = %s",  # noqa: S608
            [survivor.pk],
        )
        stored = cursor.fetchone()
    plaintexts = (PSEUDONYM, LEGAL_NAME, EMAIL, PHONE)
    for column, value, plain in zip(("pseudonym", "legal_name", "email", "phone"), stored, plaintexts, strict=True):
        assert value and plain not in value, f"{column} is stored in clear"
        assert value.startswith("gAAAAA"), f"{column} is not a Fernet token: {value[:20]!r}"
    assert (survivor.pseudonym, survivor.legal_name, survivor.email, survivor.phone) == plaintexts
    assert SIGNER in Notice.objects.get(pk=notice.pk).frozen_html

    # Nowhere in the database, as stored, does any of it appear in clear.
    for where, blob in database_dump():
        if where.startswith("table "):
            for plain in (*plaintexts, SIGNER):
                assert plain.encode() not in blob, f"{plain!r} is stored in clear in {where}"


def test_the_page_scan_would_see_an_external_reference_or_inline_code() -> None:
    page = PageReferences()
    page.feed(
        '<a id="quick-exit" href="https://www.bbc.com/weather">x</a>'
        '<link rel="stylesheet" href="//fonts.example/a.css">'
        '<img src="https://cdn.example/p.png"><a href="/cases/">ok</a><div style="color:red" onclick="x()"></div>'
        '<script>alert(1)</script><iframe srcdoc="&lt;img src=&quot;http://tracker.example/p&quot;&gt;"></iframe>'
    )
    assert page.quick_exits == ["https://www.bbc.com/weather"]
    leaving = [v for _t, _a, v in page.references if _leaves_the_site(v)]
    assert leaving == ["//fonts.example/a.css", "https://cdn.example/p.png", "http://tracker.example/p"]
    assert len(page.inline) == 3
