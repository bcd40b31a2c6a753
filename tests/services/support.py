"""Helpers for tests that run real Celery workers: a page to check, the database URL, a handle, polling."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

# How long a worker may take to start and finish one check on a slow CI machine.
WORKER_DEADLINE = 60.0


@dataclass
class PageServer:
    """A loopback HTTP server playing the site where the content appears.

    `/hold/...` does not answer until `release` is set (or 30 s pass), so a
    test can kill a worker while it is in the middle of a check.
    """

    port: int
    paths: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def worker_database_url() -> str:
    """A DATABASE_URL for the database this test is using: pytest-django's test database."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{db.get('HOST') or ''}{port}/{quote(db['NAME'], safe='')}"


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        """SIGTERM is Celery's warm shutdown; SIGKILL plays a crashed machine."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


def wait_for(condition: Callable[[], bool], *, workers: list[Worker], timeout: float = WORKER_DEADLINE) -> None:
    """Poll `condition` until it holds; fail with the workers' logs if it does not in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for worker in workers:
            if worker.process.poll() is not None and worker.process.returncode not in (0, -signal.SIGKILL):
                pytest.fail(f"The worker exited with {worker.process.returncode}:\n{worker.output()}")
        time.sleep(0.2)
    logs = "\n\n".join(w.output() for w in workers)
    pytest.fail(f"Nothing happened within {timeout:g} s. Worker output:\n{logs}")
