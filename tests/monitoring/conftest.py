"""Fixtures for the fetcher and URL checks: a real HTTP server on loopback, and a guard.

Every test here may reach 127.0.0.1 and ::1 only. The `_loopback_only` guard
fails any test that opens a connection anywhere else, so a refusal that came
too late (after connecting) cannot pass unnoticed, and no test ever touches
a real network.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator

import pytest

from monitoring.fetcher import FetchPolicy
from tests.monitoring.doubles import CertificateFiles, Handler, LocalServer, Server, Server6, make_certificates

LOOPBACK = frozenset({"127.0.0.1", "::1"})


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def allowed(address: object) -> None:
        if isinstance(address, tuple) and str(address[0]).split("%")[0] not in LOOPBACK:
            pytest.fail(f"A test tried to connect to {address[0]!r}; only loopback is allowed")

    def connect(self: socket.socket, address: object) -> None:
        allowed(address)
        real_connect(self, address)  # type: ignore[arg-type]

    def connect_ex(self: socket.socket, address: object) -> int:
        allowed(address)
        return real_connect_ex(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


def _serve(server_class: type[Server], host: str, tls: ssl.SSLContext | None = None) -> Iterator[LocalServer]:
    server = server_class((host, 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    server.state = LocalServer(host=host, port=server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.state
    finally:
        server.state.stop.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    """A threaded HTTP server on 127.0.0.1 and a random port, recording each request."""
    yield from _serve(Server, "127.0.0.1")


@pytest.fixture
def local_server6() -> Iterator[LocalServer]:
    try:
        probe = socket.socket(socket.AF_INET6)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        pytest.skip("IPv6 loopback is not available here")
    yield from _serve(Server6, "::1")


@pytest.fixture
def loopback_fetch_settings(settings) -> None:  # type: ignore[no-untyped-def]
    """Django settings under which the app's own checks may fetch from 127.0.0.1, quickly."""
    settings.FETCH_ALLOW_LOOPBACK = True
    settings.FETCH_CONNECT_TIMEOUT = 2
    settings.FETCH_TOTAL_TIMEOUT = 5
    settings.FETCH_USER_AGENT = "test-agent/1.0"


@pytest.fixture
def loopback_policy() -> FetchPolicy:
    """Short limits so the timeout tests stay fast; loopback allowed, as in the test settings."""
    return FetchPolicy(user_agent="test-agent/1.0", connect_timeout=2, total_timeout=5, allow_loopback=True)


TLS_HOST = "secure.example"


@pytest.fixture
def certificates(tmp_path) -> CertificateFiles:  # type: ignore[no-untyped-def]
    return make_certificates(str(tmp_path), TLS_HOST)


@pytest.fixture
def tls_server(certificates: CertificateFiles) -> Iterator[LocalServer]:
    """The same server over HTTPS on 127.0.0.1, with a certificate for secure.example from a test CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates.cert_file, certificates.key_file)
    yield from _serve(Server, "127.0.0.1", tls=context)
