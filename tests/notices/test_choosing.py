"""Which legal bases are proposed, in what order, and why (notices/choosing.py)."""

from __future__ import annotations

import itertools

import pytest

from notices.catalogue import load_catalogue
from notices.choosing import dsa_member_state, lives_in_british_columbia, lives_in_california, propose_bases

# (survivor country, region, platform jurisdiction, content kind, survivor made it, recipient kind) -> bases, in order
CASES = [
    # United States: TAKE IT DOWN for US users or US platforms; California adds its own laws.
    (("US", "CA", "US", "ai", None, "platform"), ["us-take-it-down", "us-ca-sb981", "us-ca-civ-1708"]),
    (("US", "California", "US", "unknown", None, "platform"), ["us-take-it-down", "us-ca-sb981", "us-ca-civ-1708"]),
    (("US", "CA", "US", "real", True, "platform"), ["us-take-it-down", "us-dmca-512c3", "us-ca-civ-1708"]),
    (("US", "CA", "US", "real", False, "platform"), ["us-take-it-down", "us-ca-civ-1708"]),
    (("US", "NY", "US", "real", True, "platform"), ["us-take-it-down", "us-dmca-512c3"]),
    (("US", "", "US", "real", None, "platform"), ["us-take-it-down"]),
    # An AI fake is never the survivor's copyright work, whatever they answer.
    (("US", "NY", "US", "ai", True, "platform"), ["us-take-it-down"]),
    (("US", "TX", "AE", "real", True, "host"), ["us-dmca-512c3"]),
    # EU: DSA and GDPR for residents of a member state or platforms established there.
    (("FR", "", "US", "ai", None, "platform"), ["us-take-it-down", "eu-gdpr-art17", "eu-dsa-art16"]),
    (("DE", "", "CY", "real", None, "platform"), ["eu-gdpr-art17", "eu-dsa-art16"]),
    (("JP", "", "CZ", "real", None, "platform"), ["eu-gdpr-art17", "eu-dsa-art16"]),
    (("EL", "", "RU", "ai", None, "platform"), ["eu-gdpr-art17", "eu-dsa-art16"]),
    # The rest of the EEA: the GDPR, not the DSA.
    (("NO", "", "RU", "real", None, "platform"), ["eu-gdpr-art17"]),
    # United Kingdom: the 48-hour duty first, then the UK GDPR.
    (("GB", "", "US", "real", None, "platform"), ["uk-osa-s20a", "us-take-it-down", "uk-gdpr-art17"]),
    (("UK", "", "RU", "ai", None, "platform"), ["uk-osa-s20a", "uk-gdpr-art17"]),
    (("JP", "", "GB", "real", None, "platform"), ["uk-osa-s20a", "uk-gdpr-art17"]),
    # Australia: a report to eSafety about the platform's content.
    (("AU", "NSW", "US", "ai", None, "platform"), ["us-take-it-down", "au-esafety"]),
    (("AU", "", "RU", "real", None, "host"), ["au-esafety"]),
    (("AU", "", "RU", "real", None, "regulator"), ["au-esafety"]),
    # British Columbia: the Civil Resolution Tribunal.
    (("CA", "BC", "CA", "real", None, "platform"), ["ca-bc-iipa"]),
    (("CA", "British Columbia", "US", "ai", None, "platform"), ["us-take-it-down", "ca-bc-iipa"]),
    (("CA", "ON", "CA", "real", None, "platform"), []),
    # Search engines: the companies' forms always; the laws that reach search services first.
    (("US", "CA", "US", "ai", None, "search_engine"), ["bing-ncii-form", "google-ncii-form"]),
    (("JP", "", "", "real", None, "search_engine"), ["bing-ncii-form", "google-ncii-form"]),
    (
        ("GB", "", "US", "real", None, "search_engine"),
        ["uk-osa-s20a", "uk-gdpr-art17", "bing-ncii-form", "google-ncii-form"],
    ),
    (("FR", "", "US", "ai", None, "search_engine"), ["eu-gdpr-art17", "bing-ncii-form", "google-ncii-form"]),
    (("CA", "BC", "US", "real", None, "search_engine"), ["ca-bc-iipa", "bing-ncii-form", "google-ncii-form"]),
    # Nowhere the research covers: nothing to propose to the platform itself.
    (("JP", "", "AE", "real", True, "platform"), []),
]


def _ids(args: tuple[str, str, str, str, bool | None, str]) -> list[str]:
    country, region, platform, kind, made_it, recipient = args
    proposals = propose_bases(
        survivor_country=country,
        survivor_region=region,
        platform_jurisdiction=platform,
        content_kind=kind,
        survivor_made_it=made_it,
        recipient_kind=recipient,
    )
    return [p.basis_id for p in proposals]


@pytest.mark.parametrize(
    ("args", "expected"), CASES, ids=lambda v: "-".join(map(str, v)) if isinstance(v, tuple) else ""
)
def test_it_proposes_the_bases_that_apply_strongest_first(args, expected) -> None:  # type: ignore[no-untyped-def]
    assert _ids(args) == expected


def test_the_reason_says_why_in_one_line() -> None:
    proposals = propose_bases(
        survivor_country="US",
        survivor_region="CA",
        platform_jurisdiction="US",
        content_kind="ai",
        survivor_made_it=None,
    )
    reasons = {p.basis_id: p.reason for p in proposals}
    assert reasons["us-ca-sb981"].startswith(
        "You live in California and the content is AI-generated: SB 981 requires social media platforms to act on "
        "reports of digitized sexually explicit images of residents"
    )
    assert "48 hours" in reasons["us-take-it-down"] and "digital forgeries" in reasons["us-take-it-down"]
    assert "1708.86" in reasons["us-ca-civ-1708"]


def test_the_dsa_reason_names_the_member_state() -> None:
    (dsa,) = [
        p
        for p in propose_bases(
            survivor_country="IT",
            survivor_region="",
            platform_jurisdiction="US",
            content_kind="real",
            survivor_made_it=None,
        )
        if p.basis_id == "eu-dsa-art16"
    ]
    assert "Italy" in dsa.reason


COUNTRIES = ["US", "GB", "FR", "NO", "AU", "CA", "JP"]
KINDS = ["real", "ai", "unknown"]
MADE = [True, False, None]
RECIPIENTS = ["platform", "host", "search_engine", "regulator"]


def test_every_proposal_is_a_real_basis_with_a_one_line_reason() -> None:
    catalogue = load_catalogue()
    for country, platform, kind, made, recipient in itertools.product(COUNTRIES, COUNTRIES, KINDS, MADE, RECIPIENTS):
        region = {"US": "CA", "CA": "BC"}.get(country, "")
        for p in propose_bases(
            survivor_country=country,
            survivor_region=region,
            platform_jurisdiction=platform,
            content_kind=kind,
            survivor_made_it=made,
            recipient_kind=recipient,
        ):
            basis = catalogue[p.basis_id]
            assert p.reason and "\n" not in p.reason
            # The DMCA only for a picture the survivor took: never an AI fake, never on a guess.
            if p.basis_id == "us-dmca-512c3":
                assert made is True and kind != "ai"
            # SB 981 covers only digitally created or altered images.
            if p.basis_id == "us-ca-sb981":
                assert kind != "real"
            # Every basis proposed reaches that kind of recipient (directly or through its authority).
            assert recipient in basis.recipient_kinds or basis.recipient_kinds & {"regulator", "tribunal"}


@pytest.mark.parametrize(
    ("country", "region", "california", "bc"),
    [
        ("US", "CA", True, False),
        ("us", " california ", True, False),
        ("US", "US-CA", True, False),
        ("US", "", False, False),
        ("CA", "CA", False, False),  # Canada's "CA" region code is not California
        ("CA", "BC", False, True),
        ("CA", "British Columbia", False, True),
    ],
)
def test_regions_are_read_leniently(country, region, california, bc) -> None:  # type: ignore[no-untyped-def]
    assert lives_in_california(country, region) is california
    assert lives_in_british_columbia(country, region) is bc


def test_the_dsa_cites_where_the_survivor_lives_first() -> None:
    assert dsa_member_state("IE", "NL") == "IE"
    assert dsa_member_state("US", "NL") == "NL"
    assert dsa_member_state("EL", "") == "GR"
    assert dsa_member_state("GB", "US") is None
