"""URL checks through the real stack: PostgreSQL, Redis, and a Celery worker in its own process.

Unit tests run tasks eagerly, in-process; these prove the production path:
the task is queued on commit, crosses the broker as JSON, and a separate
worker process finds the committed rows, fetches the page and writes the
check — and that a worker dying mid-check loses nothing (DESIGN.md principle 5).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

import pytest
import redis
from django.db import connection

from cases.models import Case, Event
from cases.services import add_urls
from monitoring.models import Outcome, URLCheck
from tests.services.support import PageServer, Worker, wait_for

pytestmark = pytest.mark.services

# The Redis transport hands an unacknowledged message to another worker only
# after `visibility_timeout` (an hour by default). The crash test shortens it
# so the second worker picks the check up within seconds; nothing else differs
# from `celery -A redress worker`.
SHORT_VISIBILITY_WORKER = """
import sys
from redress.celery import app
app.conf.broker_transport_options = {
    "visibility_timeout": 3, "unacked_restore_interval": 1, "unacked_restore_throttle": 1,
}
app.worker_main(sys.argv[1:])
"""


@pytest.mark.django_db
def test_the_broker_and_the_database_are_really_there() -> None:
    """With REQUIRE_SERVICES=1 the conftest never skips; this makes a missing service a failure.

    Without it, CI could run the `services` tests against SQLite and eager
    tasks, or die on a broker error in some unrelated place.
    """
    # pytest.fail, not assert: an assertion would print the URLs, and they may hold passwords.
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.fail("DATABASE_URL must point at PostgreSQL")
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        pytest.fail("CELERY_BROKER_URL must point at Redis")
    client = redis.Redis.from_url(broker, socket_connect_timeout=3, socket_timeout=3)
    try:
        assert client.ping() is True
    finally:
        client.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    assert connection.vendor == "postgresql"


@pytest.mark.django_db(transaction=True)
def test_a_worker_process_checks_a_pasted_url(
    case: Case, advocate: object, page_server: PageServer, start_worker: Callable[..., Worker]
) -> None:
    worker = start_worker()
    url = page_server.url("/posts/1")

    result = add_urls(case, [url], actor=advocate)

    reported = result.added[0]
    wait_for(lambda: URLCheck.objects.filter(reported_url=reported).exists(), workers=[worker])
    check = URLCheck.objects.get(reported_url=reported)
    assert (check.outcome, check.http_status) == (Outcome.REACHABLE, 200), check.error
    assert page_server.paths == ["/posts/1"]
    event = Event.objects.get(case=case, action="url.checked")
    assert event.data["check_id"] == check.pk
    assert event.actor_label == "system"


@pytest.mark.django_db(transaction=True)
def test_a_check_survives_its_worker_being_killed_mid_fetch(
    case: Case, advocate: object, page_server: PageServer, start_worker: Callable[..., Worker]
) -> None:
    """acks_late: a worker killed (SIGKILL, no goodbye) while fetching leaves the task on the broker.

    1. The first worker takes the task and blocks in the fetch (the page holds).
    2. It is killed; nothing has been written.
    3. A second worker gets the same message back from Redis and completes it.
    """
    first = start_worker(bootstrap=SHORT_VISIBILITY_WORKER)
    reported = add_urls(case, [page_server.url("/hold/1")], actor=advocate).added[0]
    wait_for(lambda: "/hold/1" in page_server.paths, workers=[first])

    first.stop(signal.SIGKILL)
    assert not URLCheck.objects.filter(reported_url=reported).exists()
    page_server.release.set()
    second = start_worker(bootstrap=SHORT_VISIBILITY_WORKER)

    wait_for(lambda: URLCheck.objects.filter(reported_url=reported).exists(), workers=[first, second])
    check = URLCheck.objects.get(reported_url=reported)
    assert (check.outcome, check.http_status) == (Outcome.REACHABLE, 200), check.error
    assert page_server.paths == ["/hold/1", "/hold/1"]
