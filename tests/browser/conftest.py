"""Fixtures for driving Debian's Chromium through Playwright against the live server.

Nothing here may leave the machine: Chromium's own background traffic is
switched off by its flags, the app's URL checks are pointed at a loopback
HTTP server, and a socket guard fails the test if the Python side (the live
server thread, where eager Celery tasks run) connects anywhere but loopback.
"""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import connections
from urllib3.connection import HTTPConnection

from monitoring import fetcher

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOOPBACK = frozenset({"127.0.0.1", "::1"})


@pytest.fixture(autouse=True)
def _allow_sync_orm_under_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    """Playwright's sync API keeps an event loop running in the test's thread.

    Django then refuses ORM calls from that thread (SynchronousOnlyOperation),
    although nothing is actually async. Set per test rather than at import so
    the rest of the suite keeps Django's guard.
    """
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail the test if Python code in this process connects to anything but loopback.

    The live server thread runs the URL checks eagerly, so a stub that missed
    a code path would otherwise reach the internet silently. A failure raised
    in that thread would only become a 500 page, so attempts are refused with
    an OSError there and reported here, after the test. (libpq's and
    Chromium's sockets are not Python sockets, so they are not affected.)
    """
    real_connect = socket.socket.connect
    attempts: list[str] = []

    def connect(self: socket.socket, address: Any) -> None:
        if isinstance(address, tuple) and str(address[0]).split("%")[0] not in LOOPBACK:
            attempts.append(str(address[0]))
            raise ConnectionRefusedError(f"browser tests may connect to loopback only, not {address[0]!r}")
        real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    yield
    if attempts:
        pytest.fail(f"The app tried to connect beyond loopback during a browser test: {attempts}")


@dataclass
class PageServer:
    """A loopback HTTP server standing in for the sites where the content appears."""

    port: int
    paths: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self.server.state.paths.append(self.path)
        body = b"<!doctype html><title>a post</title><p>a post</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: PageServer


@pytest.fixture
def page_server() -> Iterator[PageServer]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = PageServer(port=server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fetches_stay_local(monkeypatch: pytest.MonkeyPatch, page_server: PageServer) -> list[tuple[str, str]]:
    """Make every fetch the app makes land on `page_server`; returns (scheme, host) of each.

    Every name resolves to 127.0.0.1 (allowed with FETCH_ALLOW_LOOPBACK), and
    every connection, http or https, is plain HTTP to the page server, so
    `https://www.reddit.com/...` is checked end to end without a byte leaving
    the machine. The fetcher looks both functions up at call time.
    """
    seen: list[tuple[str, str]] = []

    def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    def connect(scheme: str, address: str, port: int, hostname: str, connect_timeout: float) -> HTTPConnection:
        assert address == "127.0.0.1", address
        seen.append((scheme, hostname))
        return HTTPConnection("127.0.0.1", page_server.port, timeout=connect_timeout)

    monkeypatch.setattr(fetcher, "resolve_host", resolve)
    monkeypatch.setattr(fetcher, "open_connection", connect)
    return seen


@pytest.fixture
def chromium() -> Iterator[Any]:
    """A headless Chromium browser, or a skip where Debian's package is not installed."""
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            # While Playwright's loop runs, Django hands the test its own database
            # connection (connections are context-local); close it here, while it is
            # still reachable, or PostgreSQL cannot drop the test database at the end.
            connections.close_all()
