"""Choosing legal bases: which laws a survivor can use against one platform, and why.

The rules follow ../shared/legal/ (README table and REQUIREMENTS.md). Each
proposal carries a one-line reason for the person choosing; the list is
ordered by strength, a statutory deadline to remove first.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .catalogue import LegalBasis, load_catalogue

# The 27 member states: the DSA applies to services offered to people there.
EU_MEMBER_STATES = {
    "AT": gettext_lazy("Austria"),
    "BE": gettext_lazy("Belgium"),
    "BG": gettext_lazy("Bulgaria"),
    "HR": gettext_lazy("Croatia"),
    "CY": gettext_lazy("Cyprus"),
    "CZ": gettext_lazy("Czechia"),
    "DK": gettext_lazy("Denmark"),
    "EE": gettext_lazy("Estonia"),
    "FI": gettext_lazy("Finland"),
    "FR": gettext_lazy("France"),
    "DE": gettext_lazy("Germany"),
    "GR": gettext_lazy("Greece"),
    "HU": gettext_lazy("Hungary"),
    "IE": gettext_lazy("Ireland"),
    "IT": gettext_lazy("Italy"),
    "LV": gettext_lazy("Latvia"),
    "LT": gettext_lazy("Lithuania"),
    "LU": gettext_lazy("Luxembourg"),
    "MT": gettext_lazy("Malta"),
    "NL": gettext_lazy("the Netherlands"),
    "PL": gettext_lazy("Poland"),
    "PT": gettext_lazy("Portugal"),
    "RO": gettext_lazy("Romania"),
    "SK": gettext_lazy("Slovakia"),
    "SI": gettext_lazy("Slovenia"),
    "ES": gettext_lazy("Spain"),
    "SE": gettext_lazy("Sweden"),
}
# The GDPR also applies in the rest of the EEA.
EEA_ONLY = {"IS": gettext_lazy("Iceland"), "LI": gettext_lazy("Liechtenstein"), "NO": gettext_lazy("Norway")}
OTHER_COUNTRIES = {
    "US": gettext_lazy("United States"),
    "GB": gettext_lazy("United Kingdom"),
    "AU": gettext_lazy("Australia"),
    "CA": gettext_lazy("Canada"),
}
# Greece's ISO code is GR, the EU's own abbreviation EL; "UK" is common for GB.
_ALIASES = {"EL": "GR", "UK": "GB"}
_CALIFORNIA = frozenset({"ca", "california", "calif", "calif.", "us-ca"})
_BRITISH_COLUMBIA = frozenset({"bc", "b.c.", "british columbia", "ca-bc"})


def normalise_country(code: str | None) -> str:
    code = (code or "").strip().upper()
    return _ALIASES.get(code, code)


def country_name(code: str | None) -> str:
    code = normalise_country(code)
    name = EU_MEMBER_STATES.get(code) or EEA_ONLY.get(code) or OTHER_COUNTRIES.get(code)
    return str(name) if name else code


def in_eu(country: str | None) -> bool:
    return normalise_country(country) in EU_MEMBER_STATES


def in_eea(country: str | None) -> bool:
    return in_eu(country) or normalise_country(country) in EEA_ONLY


def in_uk(country: str | None) -> bool:
    return normalise_country(country) == "GB"


def lives_in_california(country: str | None, region: str | None) -> bool:
    return normalise_country(country) == "US" and (region or "").strip().lower() in _CALIFORNIA


def lives_in_british_columbia(country: str | None, region: str | None) -> bool:
    return normalise_country(country) == "CA" and (region or "").strip().lower() in _BRITISH_COLUMBIA


def dsa_member_state(survivor_country: str | None, platform_jurisdiction: str | None) -> str | None:
    """Whose national law a DSA notice cites: where the survivor lives, else where the platform is established."""
    for country in (survivor_country, platform_jurisdiction):
        if in_eu(country):
            return normalise_country(country)
    return None


@dataclass(frozen=True)
class Proposal:
    basis_id: str
    reason: str


# Bases whose recipient is an authority, used about content on another
# service: which services the authority can order to act (REQUIREMENTS.md:
# eSafety's notices go to the platform or the host, ss77-79; the BC tribunal
# orders deletion, removal or de-indexing, including by internet intermediaries).
_AUTHORITY_REACH = {
    "au-esafety": frozenset({"platform", "host"}),
    "ca-bc-iipa": frozenset({"platform", "host", "search_engine"}),
}


def _strength(basis: LegalBasis) -> tuple[int, int]:
    """Sort key, strongest first; within a rank, the shorter period first.

    0  a fixed period to remove, running from this notice (TAKE IT DOWN, UK s20A)
    1  a fixed period to remove, running from a regulator's notice (eSafety)
    2  another fixed period from this notice (SB 981's 48-hour confirmation, GDPR's month)
    3  a duty without a fixed period (DSA, DMCA) or one set later (the BC tribunal's order)
    4  a legal ground with no notice duty (Civil Code 1708.85/1708.86)
    5  a company's own form (Google, Bing)
    """
    deadline = basis.deadline
    if basis.form_fields:
        return (5, 0)
    if deadline is None:
        return (4, 0)
    if not deadline.period:
        return (3, 0)
    hours = deadline.period.approx_hours
    if deadline.action == "remove":
        return (0 if deadline.starts_on_receipt else 1, hours)
    return (2, hours)


def _reasons(
    *,
    country: str,
    region: str,
    platform_country: str,
    content_kind: str,
    made_it: bool | None,
) -> dict[str, str]:
    """Every basis that applies on these facts, with why, before filtering by recipient kind."""
    out: dict[str, str] = {}
    is_ai = content_kind == "ai"
    where_us = _("you live in the US") if country == "US" else _("the platform is based in the US")
    if "US" in (country, platform_country):
        if is_ai:
            out["us-take-it-down"] = _(
                "The TAKE IT DOWN Act covers AI-generated \u201cdigital forgeries\u201d and requires the platform "
                "to remove them within 48 hours of a valid request (%(where)s)."
            ) % {"where": where_us}
        else:
            out["us-take-it-down"] = _(
                "The TAKE IT DOWN Act requires the platform to remove intimate images shared without consent "
                "within 48 hours of a valid request (%(where)s)."
            ) % {"where": where_us}
        # Copyright belongs to whoever took the picture; a purely AI-generated
        # image has no human author to own it, so a fake never qualifies.
        if made_it is True and not is_ai:
            out["us-dmca-512c3"] = _(
                "You took the picture yourself, so you own its copyright: a DMCA notice obliges the host to remove "
                "it expeditiously to keep its safe harbour."
            )
    if lives_in_california(country, region):
        if content_kind == "ai":
            out["us-ca-sb981"] = _(
                "You live in California and the content is AI-generated: SB 981 requires social media platforms "
                "to act on reports of digitized sexually explicit images of residents (send it from your own account)."
            )
        elif content_kind == "unknown":
            out["us-ca-sb981"] = _(
                "You live in California: if the image was digitally created or altered, SB 981 requires social "
                "media platforms to act on your report (send it from your own account)."
            )
        statute = {"real": "1708.85", "ai": "1708.86"}.get(content_kind, "1708.85 / 1708.86")
        out["us-ca-civ-1708"] = _(
            "You live in California: Civil Code %(s)s gives you a claim for damages against whoever shares the "
            "images, which this letter puts the platform on notice of."
        ) % {"s": statute}
    if in_eu(country) or in_eu(platform_country):
        member_state = dsa_member_state(country, platform_country)
        out["eu-dsa-art16"] = _(
            "The EU Digital Services Act obliges the platform to act on a notice of content that is illegal under "
            "the law of %(state)s, and to tell you its decision."
        ) % {"state": country_name(member_state)}
    if in_eea(country) or in_eea(platform_country):
        out["eu-gdpr-art17"] = _(
            "The images are your personal data: under GDPR Article 17 the platform must erase them and answer "
            "within one month."
        )
    if in_uk(country) or in_uk(platform_country):
        out["uk-osa-s20a"] = _(
            "The UK Online Safety Act requires the service to take intimate image content down within 48 hours "
            "of your report."
        )
        out["uk-gdpr-art17"] = _(
            "The images are your personal data: under the UK GDPR the platform must answer an erasure request "
            "within one month; the ICO hears complaints."
        )
    if normalise_country(country) == "AU" or platform_country == "AU":
        out["au-esafety"] = _(
            "Report it to Australia's eSafety Commissioner: eSafety can order the platform to remove it within "
            "24 hours of its notice, and you need not report to the platform first."
        )
    if lives_in_british_columbia(country, region):
        out["ca-bc-iipa"] = _(
            "You live in British Columbia: the Civil Resolution Tribunal can quickly order the platform to "
            "remove or de-index the images, without a fee."
        )
    out["google-ncii-form"] = _(
        "Google removes intimate images shared without consent, real or fake, from its search results: "
        "these are the answers for its form."
    )
    out["bing-ncii-form"] = _(
        "Microsoft removes intimate images shared without consent from Bing's results: these are the answers "
        "for its Report a Concern form."
    )
    return out


def propose_bases(
    *,
    survivor_country: str,
    survivor_region: str,
    platform_jurisdiction: str,
    content_kind: str,
    survivor_made_it: bool | None,
    recipient_kind: str = "platform",
) -> list[Proposal]:
    """The legal bases that fit, strongest first, each with a one-line reason.

    1. Work out every basis the facts allow (where the survivor lives, where
       the platform is, real or AI, whether the survivor took the picture).
    2. Keep those whose recipient is `recipient_kind`, or whose authority
       (eSafety, the BC tribunal) can order that kind of service to act.
    3. Drop a basis that does not cover the content (SB 981 is for digitally
       created or altered images only) or lacks a fact it requires.
    4. Order by strength (`_strength`), ties in catalogue order.
    """
    country = normalise_country(survivor_country)
    platform_country = normalise_country(platform_jurisdiction)
    reasons = _reasons(
        country=country,
        region=survivor_region,
        platform_country=platform_country,
        content_kind=content_kind,
        made_it=survivor_made_it,
    )
    catalogue = load_catalogue()
    order = list(catalogue)
    proposals: list[tuple[tuple[int, int], int, Proposal]] = []
    for basis_id, reason in reasons.items():
        basis = catalogue.get(basis_id)
        if basis is None:
            continue
        targets_it = recipient_kind in basis.recipient_kinds | _AUTHORITY_REACH.get(basis_id, frozenset())
        covers = (content_kind != "ai" or basis.covers_ai) and (content_kind != "real" or basis.covers_real)
        has_facts = "survivor_made_it" not in basis.requires or survivor_made_it is True
        if targets_it and covers and has_facts:
            proposals.append((_strength(basis), order.index(basis_id), Proposal(basis_id, reason)))
    return [p for _key, _index, p in sorted(proposals, key=lambda item: (item[0], item[1]))]
