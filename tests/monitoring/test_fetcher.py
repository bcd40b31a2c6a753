"""The fetcher's address rules, DNS pinning and redirects, with a stubbed resolver and connection layer.

No test here opens a connection except to the loopback server (the
`_loopback_only` guard in conftest fails any other), and every refusal is
checked to come before the connection layer is reached.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
from urllib3.connection import HTTPConnection, HTTPSConnection

from monitoring.fetcher import (
    FetchError,
    FetchPolicy,
    FetchRefused,
    FetchResult,
    fetch,
    open_connection,
    policy_from_settings,
    refusal_reason,
)
from tests.monitoring.doubles import PUBLIC_IP, LocalServer, LoopbackConnector, forbidden_connection, stub_resolver

POLICY = FetchPolicy(user_agent="test-agent/1.0", connect_timeout=2, total_timeout=5)

REFUSED = [
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "127.0.0.1",
    "127.8.8.8",
    "169.254.169.254",
    "0.0.0.0",
    "0.1.2.3",
    "100.64.0.1",
    "100.127.255.254",
    "192.0.0.8",
    "192.0.2.1",
    "198.18.0.1",
    "203.0.113.9",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "fec0::1",
    "ff02::1",
    "::ffff:10.0.0.1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:0.0.0.0",
    "::a00:1",
    "::7f00:1",
    "64:ff9b::a00:1",
    "64:ff9b::7f00:1",
    "64:ff9b:1::1",
    "2002:a00:1::1",
    "2002:7f00:1::",
    "2002:a9fe:a9fe::",
    "2001::1",
    "2001:db8::1",
    "100::1",
]

PUBLIC = [
    PUBLIC_IP,
    "8.8.8.8",
    "2606:4700:4700::1111",
    "::ffff:93.184.215.14",
    "64:ff9b::5db8:d70e",
    "2002:5db8:d70e::1",
]


@pytest.mark.parametrize("address", REFUSED)
def test_it_refuses_every_non_public_address_before_connecting(address: str) -> None:
    resolver = stub_resolver({"target.example": [address]})
    with pytest.raises(FetchRefused) as caught:
        fetch("https://target.example/page", policy=POLICY, resolver=resolver, connection_factory=forbidden_connection)
    assert caught.value.code == "address"
    assert "target.example" in str(caught.value)
    # The message names the reason, never the internal address it resolved to.
    assert address not in str(caught.value)


@pytest.mark.parametrize("address", REFUSED)
def test_it_refuses_non_public_address_literals_without_a_lookup(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(FetchRefused):
        fetch(
            f"http://{host}:8080/",
            policy=POLICY,
            resolver=stub_resolver({}),
            connection_factory=forbidden_connection,
        )


@pytest.mark.parametrize("address", PUBLIC)
def test_it_allows_globally_routable_addresses(address: str) -> None:
    assert refusal_reason(address) is None


@pytest.mark.parametrize("address", ["127.0.0.1", "127.1.2.3", "::1"])
def test_allow_loopback_permits_loopback(address: str) -> None:
    assert refusal_reason(address, allow_loopback=True) is None


@pytest.mark.parametrize(
    "address", ["::ffff:127.0.0.1", "0.0.0.0", "10.0.0.1", "169.254.169.254", "fe80::1", "64:ff9b::7f00:1", "::"]
)
def test_allow_loopback_permits_nothing_else(address: str) -> None:
    assert refusal_reason(address, allow_loopback=True) is not None


def test_it_names_the_kind_of_address_refused() -> None:
    assert refusal_reason("169.254.169.254") == "a link-local address (this includes cloud metadata services)"
    assert refusal_reason("100.64.0.1") == "a shared (carrier-grade NAT) address"
    assert refusal_reason("fc00::1") == "an IPv6 unique-local (private) address"
    assert refusal_reason("::ffff:10.0.0.1") == "a private network address (in IPv4-mapped form)"


def test_it_refuses_a_name_when_any_of_its_addresses_is_private() -> None:
    resolver = stub_resolver({"mixed.example": [PUBLIC_IP, "10.0.0.1"]})
    with pytest.raises(FetchRefused):
        fetch("http://mixed.example/", policy=POLICY, resolver=resolver, connection_factory=forbidden_connection)


@pytest.mark.parametrize(
    "url", ["ftp://files.example/x", "file:///etc/passwd", "javascript:alert(1)", "gopher://x.example/", "//x.example/"]
)
def test_it_refuses_schemes_other_than_http_and_https(url: str) -> None:
    with pytest.raises(FetchRefused) as caught:
        fetch(url, policy=POLICY, resolver=stub_resolver({}), connection_factory=forbidden_connection)
    assert caught.value.code in {"scheme", "bad_url"}


@pytest.mark.parametrize("url", ["http:///path", "http://exa mple.com/", "http://example.com/\r\nX: y", "http://[::1/"])
def test_it_refuses_malformed_urls(url: str) -> None:
    with pytest.raises(FetchRefused):
        fetch(url, policy=POLICY, resolver=stub_resolver({}), connection_factory=forbidden_connection)


def test_it_refuses_ipv6_zone_ids() -> None:
    with pytest.raises(FetchRefused):
        fetch(
            "http://[fe80::1%25eth0]/",
            policy=POLICY,
            resolver=stub_resolver({}),
            connection_factory=forbidden_connection,
        )


def test_a_dns_failure_is_a_fetch_error() -> None:
    def resolver(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(FetchError) as caught:
        fetch("http://nowhere.example/", policy=POLICY, resolver=resolver, connection_factory=forbidden_connection)
    assert caught.value.code == "dns"
    assert "nowhere.example" in str(caught.value)


def test_a_name_with_no_addresses_is_a_fetch_error() -> None:
    with pytest.raises(FetchError) as caught:
        fetch(
            "http://empty.example/",
            policy=POLICY,
            resolver=stub_resolver({"empty.example": []}),
            connection_factory=forbidden_connection,
        )
    assert caught.value.code == "dns"


def test_a_hung_dns_lookup_is_cut_off_at_the_total_timeout() -> None:
    release = threading.Event()

    def resolver(host: str, port: int) -> list[str]:
        release.wait(10)
        return [PUBLIC_IP]

    started = time.monotonic()
    try:
        with pytest.raises(FetchError) as caught:
            fetch(
                "http://slow-dns.example/",
                policy=FetchPolicy(total_timeout=0.5),
                resolver=resolver,
                connection_factory=forbidden_connection,
            )
    finally:
        release.set()
    assert caught.value.code == "timeout"
    assert time.monotonic() - started < 2


def test_it_encodes_international_host_names_before_looking_them_up() -> None:
    looked_up: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return ["10.0.0.1"]

    with pytest.raises(FetchRefused):
        fetch("http://bücher.example/", policy=POLICY, resolver=resolver, connection_factory=forbidden_connection)
    assert looked_up == ["xn--bcher-kva.example"]


# --- Pinning and redirects, through the stub connection layer ----------------


def test_it_connects_to_the_address_it_checked_not_a_second_lookup(local_server: LocalServer) -> None:
    """DNS rebinding: the name turns private on the next lookup; the fetch must never see it."""
    answers = iter([[PUBLIC_IP], ["10.0.0.1"], ["127.0.0.1"]])
    lookups: list[str] = []

    def rebinding_resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return next(answers)

    connector = LoopbackConnector(local_server)
    # Two redirects on the same host: three requests, one lookup, always the checked address.
    result = fetch(
        "http://rebind.example/chain/2", policy=POLICY, resolver=rebinding_resolver, connection_factory=connector
    )
    assert result.status == 200
    assert lookups == ["rebind.example"]
    assert connector.addresses == [PUBLIC_IP, PUBLIC_IP, PUBLIC_IP]
    # The server saw the host name, not the address, in every request.
    assert [seen.headers["Host"] for seen in local_server.seen] == ["rebind.example"] * 3


def test_a_redirect_to_a_private_address_is_refused(local_server: LocalServer) -> None:
    resolver = stub_resolver({"public.example": [PUBLIC_IP], "internal.example": ["10.1.2.3"]})
    connector = LoopbackConnector(local_server)
    with pytest.raises(FetchRefused) as caught:
        fetch(
            "http://public.example/to?location=http://internal.example/admin",
            policy=POLICY,
            resolver=resolver,
            connection_factory=connector,
        )
    assert connector.addresses == [PUBLIC_IP]  # the first hop only
    assert "internal.example" in str(caught.value)
    assert "10.1.2.3" not in str(caught.value)


def test_a_redirect_to_a_metadata_address_literal_is_refused(local_server: LocalServer) -> None:
    connector = LoopbackConnector(local_server)
    with pytest.raises(FetchRefused):
        fetch(
            "http://public.example/to?location=http://169.254.169.254/latest/meta-data/",
            policy=POLICY,
            resolver=stub_resolver({"public.example": [PUBLIC_IP]}),
            connection_factory=connector,
        )
    assert connector.addresses == [PUBLIC_IP]


def test_a_redirect_to_another_scheme_is_refused(local_server: LocalServer) -> None:
    with pytest.raises(FetchRefused) as caught:
        fetch(
            "http://public.example/to?location=file:///etc/passwd",
            policy=POLICY,
            resolver=stub_resolver({"public.example": [PUBLIC_IP]}),
            connection_factory=LoopbackConnector(local_server),
        )
    assert caught.value.code == "scheme"


def test_it_tries_the_next_checked_address_when_one_does_not_answer(local_server: LocalServer) -> None:
    second = "1.1.1.1"
    attempts: list[str] = []

    def connector(scheme: str, address: str, port: int, hostname: str, connect_timeout: float) -> HTTPConnection:
        attempts.append(address)
        if address == PUBLIC_IP:
            return HTTPConnection("127.0.0.1", 1, timeout=connect_timeout)  # nothing listens on port 1
        return HTTPConnection("127.0.0.1", local_server.port, timeout=connect_timeout)

    result = fetch(
        "http://two.example/ok",
        policy=POLICY,
        resolver=stub_resolver({"two.example": [PUBLIC_IP, second]}),
        connection_factory=connector,
    )
    assert result.status == 200
    assert attempts == [PUBLIC_IP, second]


# --- The real connection layer, built but never connected ---------------------


def test_https_connections_go_to_the_address_and_verify_the_host_name() -> None:
    conn = open_connection("https", PUBLIC_IP, 443, "www.example.com", 3.0)
    assert isinstance(conn, HTTPSConnection)
    assert conn.host == PUBLIC_IP
    assert conn.server_hostname == "www.example.com"
    assert conn.assert_hostname is None  # so OpenSSL itself checks the certificate against server_hostname
    assert conn.cert_reqs == "CERT_REQUIRED"
    assert conn.timeout == 3.0
    assert conn.sock is None


def test_http_connections_go_to_the_address() -> None:
    conn = open_connection("http", "2606:4700:4700::1111", 80, "www.example.com", 3.0)
    assert not isinstance(conn, HTTPSConnection)
    assert conn.host == "2606:4700:4700::1111"
    assert conn.sock is None


# --- Policy and result --------------------------------------------------------


def test_the_policy_comes_from_settings(settings) -> None:  # type: ignore[no-untyped-def]
    settings.FETCH_USER_AGENT = "neutral/1.0"
    settings.FETCH_MAX_BYTES = 1234
    settings.FETCH_CONNECT_TIMEOUT = 4
    settings.FETCH_TOTAL_TIMEOUT = 9
    settings.FETCH_ALLOW_LOOPBACK = False
    policy = policy_from_settings(max_bytes=99)
    assert policy == FetchPolicy(
        user_agent="neutral/1.0", max_bytes=99, connect_timeout=4.0, total_timeout=9.0, allow_loopback=False
    )


def test_the_default_policy_refuses_loopback() -> None:
    assert FetchPolicy().allow_loopback is False
    assert FetchPolicy().max_redirects == 5
    assert FetchPolicy().max_bytes == 20 * 1024 * 1024


def test_a_result_never_shows_its_body_in_repr() -> None:
    result = FetchResult(
        status=200, final_url="https://x.example/", content_type="", body=b"SECRET", bytes_read=6, truncated=False
    )
    assert "SECRET" not in repr(result)


@pytest.mark.parametrize(
    "host", ["2130706433", "0x7f000001", "0x7f.0.0.1", "0177.0.0.1", "127.1", "017700000001", "127.0.0.01", "0.0.0.0x1"]
)
def test_obscured_spellings_of_an_address_are_refused_before_resolving(host: str) -> None:
    from monitoring.fetcher import FetchRefused, fetch, policy_from_settings

    def resolver(name: str, port: int) -> list[str]:
        raise AssertionError("the resolver must not be asked")

    with pytest.raises(FetchRefused, match="unusual form"):
        fetch(f"http://{host}/", policy=policy_from_settings(allow_loopback=True), resolver=resolver)


@pytest.mark.parametrize("host", ["127.0.0.1", "8.8.8.8", "example.com", "0x.example", "10.0.0.1.example"])
def test_plain_addresses_and_names_are_not_called_obscured(host: str) -> None:
    from monitoring.fetcher import is_obscured_ipv4

    assert not is_obscured_ipv4(host)
