"""The fetcher against a real HTTP server on 127.0.0.1 (allow_loopback, as tests configure it)."""

from __future__ import annotations

import builtins
import io
import logging
import os
import tempfile
import time
from dataclasses import replace

import pytest

from monitoring import fetcher
from monitoring.fetcher import FetchError, FetchPolicy, FetchRefused, fetch
from tests.monitoring.doubles import CertificateFiles, LocalServer, stub_resolver


def test_it_refuses_loopback_unless_allowed(local_server: LocalServer) -> None:
    with pytest.raises(FetchRefused) as caught:
        fetch(local_server.url("/ok"), policy=FetchPolicy())
    assert caught.value.code == "address"
    assert local_server.seen == []


def test_it_returns_the_page(local_server: LocalServer, loopback_policy: FetchPolicy) -> None:
    result = fetch(local_server.url("/ok"), policy=loopback_policy)
    assert result.status == 200
    assert result.body == b"hello"
    assert result.bytes_read == 5
    assert result.truncated is False
    assert result.content_type == "text/plain; charset=utf-8"
    assert result.final_url == local_server.url("/ok")
    assert result.redirects == []


@pytest.mark.parametrize("status", [404, 410, 500, 503, 451])
def test_error_statuses_are_results_not_exceptions(
    local_server: LocalServer, loopback_policy: FetchPolicy, status: int
) -> None:
    result = fetch(local_server.url(f"/status/{status}"), policy=loopback_policy)
    assert result.status == status
    assert result.body == f"status {status}".encode()


def test_it_follows_a_chain_of_three_redirects(local_server: LocalServer, loopback_policy: FetchPolicy) -> None:
    result = fetch(local_server.url("/chain/3"), policy=loopback_policy)
    assert result.status == 200
    assert result.body == b"end of chain"
    assert result.final_url == local_server.url("/chain/0")
    assert [(r.url, r.status, r.location) for r in result.redirects] == [
        (local_server.url("/chain/3"), 302, local_server.url("/chain/2")),
        (local_server.url("/chain/2"), 302, local_server.url("/chain/1")),
        (local_server.url("/chain/1"), 302, local_server.url("/chain/0")),
    ]


def test_it_follows_exactly_five_redirects(local_server: LocalServer, loopback_policy: FetchPolicy) -> None:
    result = fetch(local_server.url("/chain/5"), policy=loopback_policy)
    assert result.status == 200
    assert len(result.redirects) == 5


def test_it_gives_up_after_five_redirects(local_server: LocalServer, loopback_policy: FetchPolicy) -> None:
    with pytest.raises(FetchError) as caught:
        fetch(local_server.url("/chain/6"), policy=loopback_policy)
    assert caught.value.code == "too_many_redirects"


def test_a_redirect_loop_stops(local_server: LocalServer, loopback_policy: FetchPolicy) -> None:
    with pytest.raises(FetchError) as caught:
        fetch(local_server.url("/loop"), policy=loopback_policy)
    assert caught.value.code == "too_many_redirects"
    assert len(local_server.seen) == 6  # the first request and five redirects, then no more


def test_it_resolves_relative_redirects(local_server: LocalServer, loopback_policy: FetchPolicy) -> None:
    result = fetch(local_server.url("/dir/sub/start"), policy=loopback_policy)
    assert result.final_url == local_server.url("/dir/ok")
    assert result.body == b"hello"


def test_a_redirect_without_a_location_is_the_final_answer(
    local_server: LocalServer, loopback_policy: FetchPolicy
) -> None:
    result = fetch(local_server.url("/no-location"), policy=loopback_policy)
    assert result.status == 302
    assert result.redirects == []


def test_a_redirect_to_a_private_address_is_refused_before_connecting(
    local_server: LocalServer, loopback_policy: FetchPolicy
) -> None:
    # The conftest guard fails the test if anything connects to 10.0.0.1.
    with pytest.raises(FetchRefused):
        fetch(local_server.url("/to?location=http://10.0.0.1/"), policy=loopback_policy)


def test_a_redirect_to_an_ftp_address_is_refused(local_server: LocalServer, loopback_policy: FetchPolicy) -> None:
    with pytest.raises(FetchRefused) as caught:
        fetch(local_server.url("/to?location=ftp://127.0.0.1/file"), policy=loopback_policy)
    assert caught.value.code == "scheme"


def test_it_stops_reading_at_the_byte_cap(local_server: LocalServer, loopback_policy: FetchPolicy) -> None:
    result = fetch(local_server.url("/big?n=300000"), policy=replace(loopback_policy, max_bytes=1000))
    assert result.status == 200
    assert result.body == b"x" * 1000
    assert result.bytes_read == 1000
    assert result.truncated is True


def test_a_body_exactly_at_the_cap_is_not_truncated(local_server: LocalServer, loopback_policy: FetchPolicy) -> None:
    result = fetch(local_server.url("/big?n=1000"), policy=replace(loopback_policy, max_bytes=1000))
    assert result.bytes_read == 1000
    assert result.truncated is False


def test_the_byte_cap_holds_for_chunked_bodies(local_server: LocalServer, loopback_policy: FetchPolicy) -> None:
    result = fetch(local_server.url("/chunked?n=500000"), policy=replace(loopback_policy, max_bytes=10_000))
    assert result.bytes_read == 10_000
    assert result.truncated is True


@pytest.mark.parametrize(
    "path",
    [
        "/slow",  # never answers
        "/drip",  # each body byte arrives well within a read timeout: only the wall-clock deadline stops it
        "/drip-headers",  # the head is read by http.client, out of the fetcher's loop: only the watchdog stops it
    ],
)
def test_a_server_that_stalls_is_cut_off_at_the_total_timeout(
    local_server: LocalServer, loopback_policy: FetchPolicy, path: str
) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetch(local_server.url(path), policy=replace(loopback_policy, total_timeout=1))
    assert caught.value.code == "timeout"
    assert time.monotonic() - started < 2.5


def test_a_closed_port_is_a_connection_error(loopback_policy: FetchPolicy) -> None:
    with pytest.raises(FetchError) as caught:
        fetch("http://127.0.0.1:1/", policy=loopback_policy)
    assert caught.value.code == "connect"


def test_it_sends_no_cookies_back(local_server: LocalServer, loopback_policy: FetchPolicy) -> None:
    result = fetch(local_server.url("/set-cookie"), policy=loopback_policy)
    assert result.status == 200
    assert [seen.path for seen in local_server.seen] == ["/set-cookie", "/headers"]
    assert all("Cookie" not in seen.headers for seen in local_server.seen)


def test_it_sends_the_neutral_user_agent_and_nothing_identifying(
    local_server: LocalServer, loopback_policy: FetchPolicy
) -> None:
    fetch(local_server.url("/headers"), policy=loopback_policy)
    headers = local_server.seen[0].headers
    assert headers["User-Agent"] == "test-agent/1.0"
    assert headers["Host"] == f"127.0.0.1:{local_server.port}"
    assert set(headers) <= {"Host", "User-Agent", "Accept", "Accept-Encoding", "Connection"}


def test_the_user_agent_comes_from_settings(local_server: LocalServer, settings) -> None:  # type: ignore[no-untyped-def]
    from monitoring.fetcher import policy_from_settings

    settings.FETCH_ALLOW_LOOPBACK = True
    settings.FETCH_USER_AGENT = "Mozilla/5.0 (compatible; link-check/1.0)"
    fetch(local_server.url("/headers"), policy=policy_from_settings())
    assert local_server.seen[0].headers["User-Agent"] == "Mozilla/5.0 (compatible; link-check/1.0)"


def test_head_reads_no_body(local_server: LocalServer, loopback_policy: FetchPolicy) -> None:
    result = fetch(local_server.url("/ok"), policy=loopback_policy, method="HEAD")
    assert result.status == 200
    assert result.body == b""
    assert local_server.seen[0].method == "HEAD"


def test_only_get_and_head_are_supported(local_server: LocalServer, loopback_policy: FetchPolicy) -> None:
    with pytest.raises(ValueError):
        fetch(local_server.url("/ok"), policy=loopback_policy, method="POST")
    assert local_server.seen == []


def test_it_fetches_over_ipv6_loopback(local_server6: LocalServer, loopback_policy: FetchPolicy) -> None:
    result = fetch(local_server6.url("/ok"), policy=loopback_policy)
    assert result.body == b"hello"
    assert local_server6.seen[0].headers["Host"] == f"[::1]:{local_server6.port}"


def test_the_body_never_touches_disk_or_logs(
    local_server: LocalServer, loopback_policy: FetchPolicy, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:  # type: ignore[no-untyped-def]
    def no_files(*args: object, **kwargs: object) -> None:
        pytest.fail("The fetcher opened a file")

    caplog.set_level(logging.DEBUG)
    with monkeypatch.context() as patch:
        for target, name in [
            (builtins, "open"),
            (io, "open"),
            (os, "open"),
            (tempfile, "mkstemp"),
            (tempfile, "mkdtemp"),
        ]:
            patch.setattr(target, name, no_files)
        result = fetch(local_server.url("/big?n=5000"), policy=loopback_policy)
    assert result.bytes_read == 5000
    assert "xxxxxxxx" not in caplog.text


# --- TLS: connect to the checked address, verify the certificate for the name ---


def test_https_verifies_the_name_while_connecting_to_the_checked_address(
    tls_server: LocalServer,
    certificates: CertificateFiles,
    loopback_policy: FetchPolicy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fetcher, "_ca_bundle", lambda: certificates.ca_file)
    result = fetch(
        f"https://secure.example:{tls_server.port}/ok",
        policy=loopback_policy,
        resolver=stub_resolver({"secure.example": ["127.0.0.1"]}),
    )
    assert result.body == b"hello"
    assert tls_server.seen[0].headers["Host"] == f"secure.example:{tls_server.port}"


def test_https_refuses_a_certificate_for_another_name(
    tls_server: LocalServer,
    certificates: CertificateFiles,
    loopback_policy: FetchPolicy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fetcher, "_ca_bundle", lambda: certificates.ca_file)
    with pytest.raises(FetchError) as caught:
        fetch(
            f"https://impostor.example:{tls_server.port}/ok",
            policy=loopback_policy,
            resolver=stub_resolver({"impostor.example": ["127.0.0.1"]}),
        )
    assert caught.value.code == "tls"
    assert tls_server.seen == []


def test_https_refuses_an_untrusted_certificate(tls_server: LocalServer, loopback_policy: FetchPolicy) -> None:
    with pytest.raises(FetchError) as caught:
        fetch(
            f"https://secure.example:{tls_server.port}/ok",
            policy=loopback_policy,
            resolver=stub_resolver({"secure.example": ["127.0.0.1"]}),
        )
    assert caught.value.code == "tls"
    assert tls_server.seen == []


def test_the_byte_cap_can_follow_the_content_type(local_server: LocalServer, loopback_policy: FetchPolicy) -> None:
    """A check reads a page only as far as it parses it, but an image in full, in one request."""
    seen: list[str] = []

    def cap(content_type: str) -> int:
        seen.append(content_type)
        return 100 if content_type == "application/octet-stream" else 1_000_000

    result = fetch(local_server.url("/big?n=5000"), policy=loopback_policy, max_bytes_for=cap)
    assert (result.bytes_read, result.truncated) == (100, True)
    assert seen == ["application/octet-stream"]
    whole = fetch(local_server.url("/ok"), policy=loopback_policy, max_bytes_for=cap)
    assert (whole.body, whole.truncated) == (b"hello", False)


def test_the_content_type_cap_never_raises_the_policy_cap(
    local_server: LocalServer, loopback_policy: FetchPolicy
) -> None:
    result = fetch(
        local_server.url("/big?n=5000"), policy=replace(loopback_policy, max_bytes=50), max_bytes_for=lambda _: 10**9
    )
    assert (result.bytes_read, result.truncated) == (50, True)
