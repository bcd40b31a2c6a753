"""Fixtures for tests against the real services: PostgreSQL, Redis and a Celery worker process.

The worker is a separate process, as in production, so it shares nothing
with the test but the broker and the database: it reads the pytest-django
test database (the URL is built from the test connection), and it consumes
only a queue named for this test, so a stray worker on the same Redis can
never take the test's tasks, and this worker never takes anyone else's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from redress.celery import app as celery_app
from tests.services.support import PageServer, Worker, worker_database_url

BASE_DIR = Path(settings.BASE_DIR)


# --- A page to check -----------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self.server.state.paths.append(self.path)
        if self.path.startswith("/hold/"):
            self.server.state.release.wait(30)
        body = b"<!doctype html><title>a post</title><p>a post</p>"
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the worker that asked was killed meanwhile
            pass


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
        server.state.release.set()
        server.shutdown()
        server.server_close()


# --- The worker --------------------------------------------------------------------


@pytest.fixture
def task_queue() -> Iterator[str]:
    """Route every task the test sends to a queue of its own, and send it to the broker.

    The autouse `_eager_celery` fixture leaves `services` tests alone; eager
    is switched off here explicitly so a test can never pass in-process.
    """
    name = f"redress-test-{uuid.uuid4().hex[:12]}"
    previous = celery_app.conf.task_default_queue, celery_app.conf.task_always_eager
    celery_app.conf.task_default_queue = name
    celery_app.conf.task_always_eager = False
    try:
        yield name
    finally:
        celery_app.conf.task_default_queue, celery_app.conf.task_always_eager = previous
        _drop_queue(name)


def _drop_queue(name: str) -> None:
    """Remove the test's queue keys; quietly, since an unreachable broker has already failed the test."""
    import redis

    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        return
    client = redis.Redis.from_url(broker, socket_connect_timeout=3, socket_timeout=3)
    try:
        # The queue's list and kombu's binding keys (whose prefix varies by kombu version).
        keys = [name, *client.scan_iter(match=f"_kombu.binding*.{name}")]
        client.delete(*keys)
    except redis.RedisError:
        pass
    finally:
        client.close()


@pytest.fixture
def start_worker(transactional_db: None, task_queue: str, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Start real Celery worker processes on the test's queue; all are stopped afterwards.

    Depends on `transactional_db` so the workers are gone before pytest-django
    flushes the tables (a worker's open connection would hold the flush up).
    `bootstrap` runs the worker through a short Python program instead of the
    `celery` command, for a test that must adjust the app's configuration.
    """
    if connection.vendor != "postgresql":
        pytest.fail("A worker process cannot share the test's database unless DATABASE_URL is PostgreSQL")
    workers: list[Worker] = []

    def start(*, bootstrap: str | None = None, extra_env: dict[str, str] | None = None) -> Worker:
        env = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "FETCH_ALLOW_LOOPBACK": "1",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        args = [
            "worker",
            "--pool=solo",
            "--concurrency=1",
            f"--queues={task_queue}",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
            f"--hostname={task_queue}-{len(workers)}@%h",
        ]
        if bootstrap is None:
            command = [sys.executable, "-m", "celery", "-A", "redress", *args]
        else:
            command = [sys.executable, "-c", bootstrap, *args]
        log = tmp_path / f"worker-{len(workers)}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=sink, stderr=subprocess.STDOUT)
        worker = Worker(process, log)
        workers.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in workers:
            worker.stop()
