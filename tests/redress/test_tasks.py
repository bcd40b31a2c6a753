"""Background work without a broker runs off the request thread."""

from __future__ import annotations

import threading

from django.test import override_settings

from redress.celery import app
from redress.tasks import enqueue

seen: list[tuple[str, int]] = []
done = threading.Event()
release = threading.Event()


@app.task(name="tests.record_thread")
def record_thread(value: int) -> None:
    release.wait(5)
    seen.append((threading.current_thread().name, value))
    done.set()


def test_without_a_broker_tasks_run_on_the_in_process_pool() -> None:
    seen.clear()
    done.clear()
    release.clear()
    with override_settings(INPROCESS_TASK_THREADS=1):
        enqueue(record_thread, 7)
        # enqueue returned while the task is still blocked: the caller did not wait.
        assert seen == []
        release.set()
        assert done.wait(10)
    assert seen[0][1] == 7
    assert seen[0][0].startswith("redress-task")


def test_with_no_threads_tasks_run_inline() -> None:
    seen.clear()
    release.set()
    enqueue(record_thread, 3)
    assert seen == [(threading.current_thread().name, 3)]
