"""The whole foundation flow, in real Chromium, as an advocate would walk it.

One long test on purpose: each step needs the state the previous one left
(a signed-in session, a case, its URLs and checks, a signed notice), and the
point is to prove the pages join up, not to re-test each view's branches.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from cases.models import Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

if TYPE_CHECKING:
    from tests.browser.conftest import PageServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long browser passphrase"
EMAIL = "advocate@example.org"
REDDIT_URL = "https://www.reddit.com/r/example/comments/abc123/a_post/"
SIGNER = "Alex Advocate"
# Timeline wording from cases/selectors.py, in the order the flow produces them.
TIMELINE = [
    "Case opened",
    "Media fingerprinted and added",
    "Web addresses added",
    "Web address checked",
    "Notice drafted",
    "Notice signed",
]
# Schemes a page may use without a network request leaving the live server.
LOCAL_SCHEMES = frozenset({"data", "about", "blob"})


class Visit:
    """Checks every page the flow lands on: the expected address, and the quick-exit control."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def landed(self, path_pattern: str) -> None:
        expect(self.page).to_have_url(re.compile(path_pattern))
        # Principle 3: every page has a quick-exit control.
        expect(self.page.locator("#quick-exit")).to_have_count(1)
        expect(self.page.locator("#quick-exit")).to_be_visible()


def test_an_advocate_takes_a_case_from_intake_to_a_signed_take_it_down_notice(
    live_server: Any,
    chromium: Browser,
    page_server: PageServer,
    fetches_stay_local: list[tuple[str, str]],
    settings: Any,
    vectors: Path,
    tmp_path: Path,
) -> None:
    settings.FETCH_ALLOW_LOOPBACK = True
    org = OrganizationFactory(name="Org A", slug="org-a")
    MembershipFactory(user=UserFactory(username=EMAIL, password=PASSWORD), organization=org, role=Role.ADVOCATE)
    local_url = page_server.url("/posts/1")
    origin = live_server.url.rstrip("/")

    context = chromium.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    page.set_default_timeout(10_000)
    visit = Visit(page)

    # 1. Sign in.
    page.goto(f"{origin}/accounts/login/")
    visit.landed(r"/accounts/login/$")
    page.fill("#id_username", EMAIL)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    visit.landed(r"/cases/$")

    # 2. Open a case: AI content, adult at the time, consent to act on their behalf.
    page.goto(f"{origin}/cases/new/")
    visit.landed(r"/cases/new/$")
    page.fill("#id_pseudonym", "Robin")
    page.fill("#id_email", "robin@example.org")
    page.select_option("#id_country", "US")
    page.select_option("#id_content_kind", "ai")
    page.check("input[name=under_18_in_content][value=no]")
    page.check("#id_consent_act_on_behalf")
    page.get_by_role("button", name="Open the case").click()
    visit.landed(r"/cases/RD-[0-9A-Z-]+/$")
    case_url = page.url
    expect(page.locator("h1")).to_contain_text("Case RD-")

    # 3. Fingerprint a real photo; the server hashes it in memory.
    page.get_by_text("Other way, for advocates").click()  # the server-side upload sits behind a disclosure
    page.set_input_files("#id_file", str(vectors / "pdq" / "bridge-mods" / "aaa-orig.jpg"))
    page.get_by_role("button", name="Fingerprint this photo").click()
    visit.landed(re.escape(urlsplit(case_url).path) + "$")
    expect(page.locator(".messages")).to_contain_text("Fingerprints saved")

    # 4. Paste URLs; their checks are queued on commit and, eagerly, run before the redirect.
    page.fill("#id_urls", f"{REDDIT_URL}\n{local_url}\n")
    page.get_by_role("button", name="Add addresses").click()
    visit.landed(re.escape(urlsplit(case_url).path) + "$")
    expect(page.locator(".messages")).to_contain_text("2 web address(es) added")
    rows = page.locator("section[aria-labelledby=urls-heading] tbody tr")
    expect(rows).to_have_count(2)
    if rows.filter(has_text="Not checked yet").count():
        page.get_by_role("button", name="Check all addresses now").click()
        visit.landed(re.escape(urlsplit(case_url).path) + "$")
    reddit_row = rows.filter(has_text="www.reddit.com")
    local_row = rows.filter(has_text=local_url)
    expect(reddit_row).to_contain_text("Reddit")
    expect(reddit_row).to_contain_text("(HTTP 200)")
    expect(local_row).to_contain_text("(HTTP 200)")
    # Both checks went through the safe fetcher to the local page server, nothing else.
    assert sorted(page_server.paths) == ["/posts/1", "/r/example/comments/abc123/a_post/"]
    assert ("https", "www.reddit.com") in fetches_stay_local

    # 5. Draft a TAKE IT DOWN notice to Reddit.
    # The case page proposes the bases that fit each platform; one of the two URLs is on Reddit.
    page.get_by_role("button", name="Draft a TAKE IT DOWN Act removal request notice to Reddit").click()
    visit.landed(r"/notices/\d+/$")
    expect(page.locator("h1")).to_contain_text("TAKE IT DOWN")

    # 6. Sign it.
    page.fill("#id_full_name", SIGNER)
    page.check("#id_attest")
    page.get_by_role("button", name="Sign", exact=True).click()
    visit.landed(r"/notices/\d+/$")
    expect(page.locator(".messages")).to_contain_text("Notice signed")
    page.screenshot(path=str(tmp_path / "notice.png"), full_page=True)

    # 7. Download the signed PDF and read it back.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the signed PDF").click()
    pdf_path = tmp_path / "notice.pdf"
    download_info.value.save_as(pdf_path)
    pdf = pdf_path.read_bytes()
    assert pdf.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, text=True, check=True
        ).stdout
        flat = " ".join(text.split())
        assert REDDIT_URL in flat  # identification
        assert "good faith belief" in flat  # the good-faith statement
        assert EMAIL in flat  # contact: the representative signing
        assert f"Signed electronically by /{SIGNER}/" in flat  # signature

    # 8. Back on the case page, the timeline tells the whole story in order.
    response = page.goto(case_url)
    # Principle 3, and the forms above still worked under it (redress/csrf.py).
    assert response is not None and response.headers["referrer-policy"] == "no-referrer"
    visit.landed(re.escape(urlsplit(case_url).path) + "$")
    timeline = page.locator("ol.timeline li").all_inner_texts()
    positions = [next(i for i, line in enumerate(timeline) if step in line) for step in TIMELINE]
    assert positions == sorted(positions), timeline
    expect(page.locator("section[aria-labelledby=notices-heading]")).to_contain_text("Signed")

    screenshot = tmp_path / "case.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"case page screenshot: {screenshot}")
    context.close()

    # Principle 3: no third-party requests, from any page of the flow.
    foreign = [url for url in requests if url.split(":", 1)[0] not in LOCAL_SCHEMES and not url.startswith(origin)]
    assert foreign == [], foreign
