"""Validating and normalising pasted URLs, so the same page is tracked once."""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .errors import CaseError

MAX_URL_LENGTH = 2048
# Query parameters that only track the visitor; they never change the content.
_TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "igshid", "mc_cid", "mc_eid", "_ga", "ref_src", "si", "yclid"}
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(name: str) -> bool:
    return name.lower().startswith("utm_") or name.lower() in _TRACKING_PARAMS


def normalise_url(raw: str) -> str:
    """Return the canonical form of a pasted URL, or raise CaseError saying why not.

    1. Trim; add https:// when no scheme was pasted ("example.com/x").
    2. Accept only http and https (refuses javascript:, data:, file:, ftp:…).
    3. Lower-case the host, IDNA-encode it, drop default ports and credentials.
    4. Drop the fragment and tracking parameters; keep the rest of the query in order.
    """
    text = raw.strip()
    if not text:
        raise CaseError("The line is empty.", code="empty_url")
    if len(text) > MAX_URL_LENGTH:
        raise CaseError(f"The address is longer than {MAX_URL_LENGTH} characters.", code="url_too_long")
    if "://" not in text and ":" in text.split("/", 1)[0] and not text.split(":", 1)[1][:1].isdigit():
        scheme = text.split(":", 1)[0].lower()
        raise CaseError(f"Only web addresses (http or https) can be tracked, not {scheme}: links.", code="bad_scheme")
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise CaseError("This is not a valid web address.", code="invalid_url") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise CaseError(f"Only web addresses (http or https) can be tracked, not {scheme}: links.", code="bad_scheme")
    host = (parts.hostname or "").rstrip(".")
    if not host or any(c.isspace() for c in text):
        raise CaseError("This is not a valid web address.", code="invalid_url")
    host = _canonical_host(host)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)])
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def _canonical_host(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    from monitoring.fetcher import is_obscured_ipv4

    if is_obscured_ipv4(host):
        raise CaseError(
            "This address spells a network address in an unusual form; use the site's name.", code="invalid_url"
        )
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise CaseError("The site name in this address is not valid.", code="invalid_url") from exc
    if "." not in ascii_host:
        raise CaseError("This address has no site name (like example.com).", code="invalid_url")
    return ascii_host
