"""Test doubles for the fetcher: a recording HTTP server, stub resolvers and connection layers.

Nothing here reaches beyond loopback: the stub connection layer accepts the
public address the stub resolver gave out and talks to 127.0.0.1 instead.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from urllib3.connection import HTTPConnection

# A globally routable address the stubbed resolver hands out; the stubbed
# connection layer sends its traffic to the loopback server instead.
PUBLIC_IP = "93.184.215.14"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Page:
    """A response the test sets up at a path: the server answers it before its built-in routes."""

    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200


@dataclass
class LocalServer:
    host: str
    port: int
    seen: list[Seen] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    # Path -> response; a test may change it between checks (a page that loses its image).
    pages: dict[str, Page] = field(default_factory=dict)

    def paths(self) -> list[str]:
        return [seen.path for seen in self.seen]

    def url(self, path: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        self.server.state.seen.append(Seen(self.command, self.path, dict(self.headers.items())))
        path = parts.path
        page = self.server.state.pages.get(path)
        if page is not None:
            self._send(page.status, page.body, page.content_type)
        elif path == "/ok" or path == "/headers" or path == "/dir/ok":
            self._send(200, b"hello", "text/plain; charset=utf-8")
        elif path.startswith("/status/"):
            status = int(path.rsplit("/", 1)[1])
            self._send(status, f"status {status}".encode())
        elif path.startswith("/chain/"):
            left = int(path.rsplit("/", 1)[1])
            if left == 0:
                self._send(200, b"end of chain")
            else:
                self._redirect(f"/chain/{left - 1}")
        elif path == "/loop":
            self._redirect("/loop")
        elif path == "/dir/sub/start":
            self._redirect("../ok")
        elif path == "/big":
            self._send(200, b"x" * int(query["n"][0]), "application/octet-stream")
        elif path == "/chunked":
            self._chunked(int(query["n"][0]))
        elif path == "/slow":
            self._wait(5.0)
            self._send(200, b"late")
        elif path == "/drip":
            self._drip()
        elif path == "/drip-headers":
            self._drip_headers()
        elif path == "/set-cookie":
            self._redirect("/headers", extra={"Set-Cookie": "session=s3cret; Path=/"})
        elif path == "/to":
            self._redirect(query["location"][0])
        elif path == "/no-location":
            self._send(302, b"moved, but nowhere")
        else:
            self._send(404, b"not found")

    def _send(
        self, status: int, body: bytes, content_type: str = "text/plain", extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = True

    def _redirect(self, location: str, extra: dict[str, str] | None = None) -> None:
        self._send(302, b"", extra={"Location": location, **(extra or {})})

    def _chunked(self, size: int) -> None:
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        piece = b"y" * 4096
        sent = 0
        try:
            while sent < size:
                chunk = piece[: size - sent]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client stopped reading at its cap
            pass
        self.close_connection = True

    def _wait(self, seconds: float) -> None:
        self.server.state.stop.wait(seconds)

    def _drip(self) -> None:
        """Send the head at once, then one byte every 50 ms: each read is quick, the sum is not."""
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for _ in range(1000):
                if self.server.state.stop.wait(0.05):
                    break
                self.wfile.write(b".")
                self.wfile.flush()
        except OSError:
            pass
        self.close_connection = True

    def _drip_headers(self) -> None:
        """Never finish the head: a new header line every 50 ms, each well within a read timeout."""
        try:
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for number in range(90):
                if self.server.state.stop.wait(0.05):
                    break
                self.wfile.write(b"X-Pad-%d: a\r\n" % number)
                self.wfile.flush()
        except OSError:
            pass
        self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    state: LocalServer


class Server6(Server):
    address_family = socket.AF_INET6


def stub_resolver(table: dict[str, list[str]]) -> Callable[[str, int], list[str]]:
    """A resolver answering from `table`; any other name fails the test."""

    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            pytest.fail(f"Unexpected DNS lookup of {host!r}")
        return table[host]

    return resolve


def forbidden_connection(scheme: str, address: str, port: int, hostname: str, connect_timeout: float) -> HTTPConnection:
    """A connection layer that fails the test if reached: refusals must come before connecting."""
    pytest.fail(f"The fetcher tried to connect to {address!r} for {hostname!r}")


@dataclass
class LoopbackConnector:
    """Stands in for the network: records the checked address, then talks to the local server.

    The fetcher believes it is connecting to `address` (a public IP from the
    stub resolver); the bytes go to 127.0.0.1, so the test never leaves the machine.
    """

    server: LocalServer
    allowed: frozenset[str] = frozenset({PUBLIC_IP})
    addresses: list[str] = field(default_factory=list)

    def __call__(self, scheme: str, address: str, port: int, hostname: str, connect_timeout: float) -> HTTPConnection:
        if address not in self.allowed:
            pytest.fail(f"The fetcher tried to connect to {address!r} for {hostname!r}")
        self.addresses.append(address)
        return HTTPConnection("127.0.0.1", self.server.port, timeout=connect_timeout)


def elapsed(since: float) -> float:
    return time.monotonic() - since


@dataclass
class CertificateFiles:
    """A throwaway CA and a server certificate for one host name, as PEM files."""

    ca_file: str
    cert_file: str
    key_file: str


def make_certificates(directory: str, hostname: str) -> CertificateFiles:
    """Issue a CA and a leaf certificate for `hostname`, so TLS can be tested on loopback."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Redress test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = CertificateFiles(f"{directory}/ca.pem", f"{directory}/server.pem", f"{directory}/server.key")
    with open(files.ca_file, "wb") as out:
        out.write(ca_cert.public_bytes(serialization.Encoding.PEM))
    with open(files.cert_file, "wb") as out:
        out.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(files.key_file, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return files
