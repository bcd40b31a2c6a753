"""The one safe fetcher: every server-side HTTP request in Redress goes through `fetch()`.

The URLs we fetch are typed in by people we do not know, and the pages they
point to are run by people who may want to hurt the survivor or the service.
So a fetch must never become a way into our own network (SSRF), must never
hang a worker, and must never keep what it read:

- The host is resolved once per fetch; every address it resolves to must be
  globally routable (see `refusal_reason`), and the connection goes to the
  address that was checked, never to a second lookup (no DNS rebinding). The
  `Host` header and TLS SNI/certificate checks still use the host name.
- Every redirect is checked the same way, at most `max_redirects` of them.
- A wall-clock deadline covers DNS, connecting, redirects and the body; a
  watchdog shuts the socket down when it passes, so a server that drips one
  byte at a time cannot hold a worker.
- The body is read into memory up to `max_bytes` and handed to the caller,
  which hashes it and drops it. It is never written to disk or logged.
- No cookies, no credentials, no proxy from the environment, a neutral
  User-Agent.

This module does not import Django: the policy comes in as a `FetchPolicy`
(`policy_from_settings()` builds one from settings), so it is testable alone.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote, urljoin, urlsplit

import urllib3.exceptions
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.response import HTTPResponse
from urllib3.util.ssl_match_hostname import CertificateError

DEFAULT_USER_AGENT = "Mozilla/5.0 (compatible; link-check/1.0)"
DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


# --- Errors ------------------------------------------------------------------


class FetchFailed(Exception):
    """A fetch that produced no response. `str(exc)` is safe to show to a person.

    Messages name the host the person gave us and the reason, never the
    address it resolved to (that could map our internal network).
    """

    code = "failed"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class FetchRefused(FetchFailed):
    """We chose not to fetch: the address, scheme or URL is not allowed."""

    code = "refused"


class FetchError(FetchFailed):
    """We tried and failed: DNS, connection, TLS, timeout, too many redirects, bad HTTP."""

    code = "error"


# --- Policy and result -------------------------------------------------------


@dataclass(frozen=True)
class FetchPolicy:
    """The limits of one fetch. Build from settings with `policy_from_settings()`."""

    user_agent: str = DEFAULT_USER_AGENT
    max_bytes: int = 20 * 1024 * 1024
    connect_timeout: float = 10.0
    total_timeout: float = 30.0
    max_redirects: int = 5
    # Tests serve pages on 127.0.0.1; this permits 127.0.0.0/8 and ::1 only.
    allow_loopback: bool = False

    def __post_init__(self) -> None:
        if self.max_bytes < 0 or self.max_redirects < 0:
            raise ValueError("max_bytes and max_redirects must not be negative")
        if self.connect_timeout <= 0 or self.total_timeout <= 0:
            raise ValueError("timeouts must be positive")


def policy_from_settings(**overrides: Any) -> FetchPolicy:
    """The policy configured in Django settings (FETCH_*), with per-caller overrides.

    Callers that need less than the global byte cap (a liveness check) pass
    `max_bytes=...` here rather than reading settings themselves.
    """
    from django.conf import settings

    values: dict[str, Any] = {
        "user_agent": settings.FETCH_USER_AGENT,
        "max_bytes": settings.FETCH_MAX_BYTES,
        "connect_timeout": float(settings.FETCH_CONNECT_TIMEOUT),
        "total_timeout": float(settings.FETCH_TOTAL_TIMEOUT),
        "allow_loopback": bool(settings.FETCH_ALLOW_LOOPBACK),
    }
    values.update(overrides)
    return FetchPolicy(**values)


@dataclass(frozen=True)
class Redirect:
    """One hop that answered with a redirect: evidence of where the content moved."""

    url: str
    status: int
    location: str


@dataclass(frozen=True)
class FetchResult:
    status: int
    final_url: str
    content_type: str
    # Kept out of repr so a result in a log line or a traceback never carries the content.
    body: bytes = field(repr=False)
    bytes_read: int
    truncated: bool
    redirects: list[Redirect] = field(default_factory=list)


# --- Addresses ---------------------------------------------------------------

_V4_BLOCKED: list[tuple[ipaddress.IPv4Network, str]] = [
    (ipaddress.IPv4Network(net), reason)
    for net, reason in [
        ("0.0.0.0/8", "the unspecified ('this network') address"),
        ("127.0.0.0/8", "a loopback address"),
        ("10.0.0.0/8", "a private network address"),
        ("172.16.0.0/12", "a private network address"),
        ("192.168.0.0/16", "a private network address"),
        ("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
        ("169.254.0.0/16", "a link-local address (this includes cloud metadata services)"),
        ("192.0.0.0/24", "a reserved protocol address"),
        ("192.0.2.0/24", "a documentation address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("192.88.99.0/24", "a reserved relay address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),
    ]
]

_V6_BLOCKED: list[tuple[ipaddress.IPv6Network, str]] = [
    (ipaddress.IPv6Network(net), reason)
    for net, reason in [
        ("::/128", "the unspecified address"),
        ("::1/128", "a loopback address"),
        # IPv4-compatible (deprecated); never legitimately returned by DNS.
        ("::/96", "an IPv4-compatible IPv6 address"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("100::/64", "a discard-only address"),
        # IETF protocol assignments, including Teredo (2001::/32), whose
        # embedded address is obfuscated and cannot be checked.
        ("2001::/23", "a reserved protocol address"),
        ("2001:db8::/32", "a documentation address"),
        ("3fff::/20", "a documentation address"),
        ("5f00::/16", "a reserved routing address"),
        ("fc00::/7", "an IPv6 unique-local (private) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "an IPv6 site-local (private) address"),
        ("ff00::/8", "a multicast address"),
    ]
]

_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_LOOPBACK_V4 = ipaddress.IPv4Network("127.0.0.0/8")
_LOOPBACK_V6 = ipaddress.IPv6Address("::1")


def refusal_reason(address: str | IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why we will not connect to `address`, or None when it is globally routable.

    1. With `allow_loopback` (tests only), 127.0.0.0/8 and ::1 pass; nothing else does.
    2. IPv6 forms that carry an IPv4 address (mapped ::ffff:a.b.c.d, NAT64
       64:ff9b::/96, 6to4 2002::/16) are judged by the IPv4 address inside,
       since that is where the packets end up.
    3. The special-purpose ranges above are refused by name, because Python's
       `is_global` calls some of them global (fec0::/10, 64:ff9b::/96, 2002::/16).
    4. Anything else must also satisfy `ipaddress`'s `is_global`.
    """
    ip = address if not isinstance(address, str) else _parse_ip(address)
    if ip is None:
        return "an address that could not be understood"
    if allow_loopback and (ip in _LOOPBACK_V4 if isinstance(ip, ipaddress.IPv4Address) else ip == _LOOPBACK_V6):
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        embedded, form = _embedded_ipv4(ip)
        if embedded is not None:
            inner = refusal_reason(embedded)
            return f"{inner} (in {form} form)" if inner else None
        blocked: Sequence[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]] = _V6_BLOCKED
    else:
        blocked = _V4_BLOCKED
    for network, reason in blocked:
        if ip in network:
            return reason
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private or ip.is_reserved or ip.is_link_local or ip.is_loopback or ip.is_unspecified:
        return "a private or reserved address"
    if not ip.is_global:
        return "an address that is not publicly routable"
    return None


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address | None, str]:
    if ip in _IPV4_MAPPED:
        return ip.ipv4_mapped, "IPv4-mapped"
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "NAT64"
    if ip in _SIX_TO_FOUR:
        return ip.sixtofour, "6to4"
    return None, ""


# --- Resolving ---------------------------------------------------------------

# (host, port) -> the addresses it resolves to, as text.
Resolver = Callable[[str, int], Sequence[str]]


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the system's preferred order, without duplicates."""
    addresses: list[str] = []
    for family, _type, _proto, _name, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if family in (socket.AF_INET, socket.AF_INET6) and sockaddr[0] not in addresses:
            addresses.append(str(sockaddr[0]))
    return addresses


def _resolve_within(resolver: Resolver, host: str, port: int, timeout: float) -> list[str]:
    """Run the resolver on a helper thread so a hung DNS server cannot outlast the deadline.

    getaddrinfo has no timeout of its own; a lookup abandoned here finishes
    (or not) on its daemon thread and its answer is ignored.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["addresses"] = list(resolver(host, port))
        except Exception as exc:  # noqa: BLE001 - handed back to, and raised in, the calling thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="fetch-resolve", daemon=True)
    worker.start()
    worker.join(max(timeout, 0.0))
    if worker.is_alive():
        raise FetchError(f"Looking up {host} took too long.", code="timeout")
    if "error" in outcome:
        error = outcome["error"]
        if isinstance(error, (OSError, UnicodeError)):
            raise FetchError(f"The name {host} could not be found.", code="dns") from error
        raise error
    return outcome["addresses"]


# --- Connecting --------------------------------------------------------------


class ConnectionFactory(Protocol):
    """Makes an unconnected urllib3 connection to `address`, presenting `hostname` for TLS."""

    def __call__(
        self, scheme: str, address: str, port: int, hostname: str, connect_timeout: float
    ) -> HTTPConnection: ...


def _ca_bundle() -> str | None:
    try:
        import certifi
    except ImportError:  # fall back to the operating system's trust store
        return None
    return certifi.where()


def open_connection(scheme: str, address: str, port: int, hostname: str, connect_timeout: float) -> HTTPConnection:
    """An urllib3 connection to the checked IP address itself.

    The socket goes to `address`, so no second DNS lookup can swap it; for
    HTTPS, `server_hostname` is sent as SNI and OpenSSL verifies the
    certificate against it (check_hostname stays on because no
    `assert_hostname` is given), so the site's real certificate is required.
    """
    if scheme == "https":
        return HTTPSConnection(
            address,
            port,
            timeout=connect_timeout,
            server_hostname=hostname,
            cert_reqs="CERT_REQUIRED",
            ca_certs=_ca_bundle(),
        )
    return HTTPConnection(address, port, timeout=connect_timeout)


class _Watchdog:
    """Shuts the current socket down when the total deadline passes.

    Socket timeouts bound each read, not their sum: a server that sends one
    byte just before each timeout could hold a worker for hours. Shutting the
    socket down from a timer thread makes the blocked read return at once.
    """

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._lock = threading.Lock()
        self._conn: HTTPConnection | None = None
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()

    def watch(self, conn: HTTPConnection | None) -> None:
        with self._lock:
            self._conn = conn
            if self.fired and conn is not None:
                _shutdown(conn)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            if self._conn is not None:
                _shutdown(self._conn)


def _shutdown(conn: HTTPConnection) -> None:
    sock = getattr(conn, "sock", None)
    if isinstance(sock, socket.socket):
        # The plain socket's shutdown, also for an SSLSocket: SSLSocket.shutdown
        # would drop its SSL object under the reading thread's feet.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def check(self, dog: _Watchdog | None = None) -> float:
        left = self.remaining()
        if left <= 0 or (dog is not None and dog.fired):
            raise self.error()
        return left

    def error(self) -> FetchError:
        return FetchError(f"The site did not answer within {self.seconds:g} seconds.", code="timeout")


# --- URLs --------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    url: str
    scheme: str
    host: str  # IDNA-encoded host name, or an IP address without brackets
    port: int
    request_target: str  # path and query, percent-encoded

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)


def is_obscured_ipv4(host: str) -> bool:
    """True for IPv4 written any way but plain dotted decimal (2130706433, 0x7f.1, 0177.0.0.1).

    The C resolver reads these as addresses, so they are refused outright
    rather than handed to it: the address check must see what will be used.
    """
    labels = host.split(".")
    if not all(_NUMERIC_LABEL.match(label) for label in labels):
        return False
    canonical = len(labels) == 4 and all(
        label.isdigit() and (label == "0" or not label.startswith("0")) and int(label) <= 255 for label in labels
    )
    return not canonical


def _parse_target(url: str) -> _Target:
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in url):
        raise FetchRefused("This is not a valid web address.", code="bad_url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchRefused("This is not a valid web address.", code="bad_url") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise FetchRefused(
            f"Only web addresses (http or https) are fetched, not {scheme or 'this'}: links.", code="scheme"
        )
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise FetchRefused("This web address has no host name.", code="bad_url")
    if "%" in host:  # an IPv6 zone id names one of *our* interfaces: never a public address
        raise FetchRefused("This web address names a local network interface.", code="address")
    if is_obscured_ipv4(host):
        raise FetchRefused("This web address spells a network address in an unusual form.", code="address")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise FetchRefused("This web address has an invalid host name.", code="bad_url") from exc
    # Percent-encode anything not allowed in a request line, keeping existing escapes.
    target = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        target += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    return _Target(url, scheme, host, port or DEFAULT_PORTS[scheme], target)


# --- Fetching ----------------------------------------------------------------


def fetch(
    url: str,
    *,
    policy: FetchPolicy,
    method: str = "GET",
    resolver: Resolver | None = None,
    connection_factory: ConnectionFactory | None = None,
    max_bytes_for: Callable[[str], int] | None = None,
) -> FetchResult:
    """Fetch `url` within `policy`; raise FetchRefused or FetchError when there is no response.

    1. Parse the URL; only http and https.
    2. Resolve the host once (cached for this fetch) and refuse it if any of
       its addresses is not globally routable: a name that mixes a public and
       a private address is an attack, not a misconfiguration.
    3. Connect to the checked address (the next one if a connection fails),
       send the request with the host name as `Host`, read the response head.
    4. On a redirect with a Location: resolve it against the current URL and
       go back to step 1, at most `policy.max_redirects` times.
    5. Otherwise read the body (GET only) up to `policy.max_bytes` and return;
       `max_bytes_for(content_type)` may lower that cap once the response's
       Content-Type is known, so one request can read a whole image while a
       page of the same check is read only as far as it is worth parsing
       (a second request to find out would double the load on the site).

    Every status is a result (404 and 500 included); only "no response" raises.
    """
    method = method.upper()
    if method not in ("GET", "HEAD"):
        raise ValueError("Only GET and HEAD are supported")
    resolve = resolver or resolve_host
    connect = connection_factory or open_connection
    deadline = _Deadline(policy.total_timeout)
    pinned: dict[str, list[str]] = {}
    redirects: list[Redirect] = []
    current = url
    with _Watchdog(policy.total_timeout) as dog:
        while True:
            target = _parse_target(current)
            addresses = pinned.get(target.host)
            if addresses is None:
                addresses = pinned[target.host] = _checked_addresses(target, resolve, policy, deadline)
            conn, response = _exchange(target, addresses, method, policy, connect, deadline, dog)
            try:
                location = response.headers.get("Location")
                if response.status in REDIRECT_STATUSES and location:
                    if len(redirects) >= policy.max_redirects:
                        raise FetchError(
                            f"The site redirected more than {policy.max_redirects} times.", code="too_many_redirects"
                        )
                    next_url = urljoin(current, _header_text(location).strip())
                    redirects.append(Redirect(url=current, status=response.status, location=next_url))
                    current = next_url
                    continue
                content_type = _header_text(response.headers.get("Content-Type", ""))
                limit = policy.max_bytes if method == "GET" else 0
                if max_bytes_for is not None:
                    limit = max(min(limit, max_bytes_for(content_type)), 0)
                body, truncated = _read_body(response, limit, deadline, dog)
                return FetchResult(
                    status=response.status,
                    final_url=current,
                    content_type=content_type,
                    body=body,
                    bytes_read=len(body),
                    truncated=truncated,
                    redirects=redirects,
                )
            except (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError, ValueError) as exc:
                # ValueError too: a read racing the watchdog's shutdown can fail oddly.
                raise _as_fetch_error(exc, target.host, deadline, dog) from exc
            finally:
                dog.watch(None)
                response.close()
                conn.close()


def _checked_addresses(target: _Target, resolve: Resolver, policy: FetchPolicy, deadline: _Deadline) -> list[str]:
    literal = _parse_ip(target.host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        addresses = _resolve_within(resolve, target.host, target.port, deadline.check())
        if not addresses:
            raise FetchError(f"The name {target.host} could not be found.", code="dns")
    for address in addresses:
        reason = refusal_reason(address, allow_loopback=policy.allow_loopback)
        if reason is not None:
            raise FetchRefused(f"{target.host} leads to {reason}, which is never fetched.", code="address")
    return addresses


def _exchange(
    target: _Target,
    addresses: Sequence[str],
    method: str,
    policy: FetchPolicy,
    connect: ConnectionFactory,
    deadline: _Deadline,
    dog: _Watchdog,
) -> tuple[HTTPConnection, HTTPResponse]:
    """Connect to the first checked address that answers and send the request."""
    headers = {
        "Host": target.host_header,
        "User-Agent": policy.user_agent,
        "Accept": "*/*",
        # Uncompressed, so the byte cap counts what the server sent; urllib3
        # still decodes (with its own limits) if a server compresses anyway.
        "Accept-Encoding": "identity",
        "Connection": "close",
    }
    last_error: Exception | None = None
    for address in addresses:
        left = deadline.check(dog)
        conn = connect(target.scheme, address, target.port, target.host, min(policy.connect_timeout, left))
        dog.watch(conn)
        try:
            conn.connect()
        except (OSError, urllib3.exceptions.HTTPError, CertificateError) as exc:
            dog.watch(None)
            conn.close()
            if dog.fired or deadline.remaining() <= 0 or _is_tls_error(exc):
                raise _as_fetch_error(exc, target.host, deadline, dog) from exc
            last_error = exc  # try the next address, as browsers do
            continue
        try:
            # Each socket operation may take at most what is left of the total.
            conn.timeout = max(deadline.check(dog), 0.001)
            conn.request(method, target.request_target, headers=headers, preload_content=False)
            return conn, conn.getresponse()
        except (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError, ValueError) as exc:
            dog.watch(None)
            conn.close()
            raise _as_fetch_error(exc, target.host, deadline, dog) from exc
    assert last_error is not None
    raise _as_fetch_error(last_error, target.host, deadline, dog) from last_error


def _read_body(response: HTTPResponse, limit: int, deadline: _Deadline, dog: _Watchdog) -> tuple[bytes, bool]:
    """Read at most `limit` bytes; report whether there was more. Stops without draining the rest."""
    if limit <= 0:
        return b"", False
    buffer = bytearray()
    while len(buffer) <= limit:
        deadline.check(dog)
        chunk = response.read1(min(_CHUNK, limit + 1 - len(buffer)))
        if not chunk:
            break
        buffer += chunk
    truncated = len(buffer) > limit
    if truncated:
        del buffer[limit:]
    return bytes(buffer), truncated


def _header_text(value: str) -> str:
    """http.client decodes headers as Latin-1; most servers that send non-ASCII mean UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _is_tls_error(exc: BaseException) -> bool:
    return isinstance(exc, (ssl.SSLError, CertificateError, urllib3.exceptions.SSLError))


def _as_fetch_error(exc: BaseException, host: str, deadline: _Deadline, dog: _Watchdog) -> FetchError:
    """Translate a low-level failure into a FetchError a person can read."""
    if dog.fired or deadline.remaining() <= 0:
        return deadline.error()
    if _is_tls_error(exc):
        return FetchError(
            f"The secure connection to {host} failed: its certificate is not valid for this name or not trusted.",
            code="tls",
        )
    if isinstance(exc, urllib3.exceptions.NewConnectionError):  # before ConnectTimeoutError: it subclasses it
        return FetchError(f"Could not connect to {host}.", code="connect")
    if isinstance(exc, (TimeoutError, urllib3.exceptions.TimeoutError)):
        return FetchError(f"{host} did not answer in time.", code="timeout")
    if isinstance(exc, (http.client.HTTPException, urllib3.exceptions.HTTPError)):
        return FetchError(f"{host} sent a response that is not valid HTTP.", code="protocol")
    if isinstance(exc, OSError):
        return FetchError(f"The connection to {host} failed.", code="connect")
    return FetchError(f"{host} could not be fetched.", code="error")
