"""Queueing background work the same way with or without a broker.

With a broker (production, CI) tasks go to Celery workers. Without one (the
embedded `make run` default) Celery runs tasks eagerly, which would make a
person wait in their request while the app fetches hundreds of URLs; so in
that mode tasks run on a small in-process thread pool instead, still in the
same process and still through the task's own code (retries included).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

from celery import Task
from django.conf import settings
from django.db import connections

from .celery import app

logger = logging.getLogger(__name__)


@cache
def _executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=settings.INPROCESS_TASK_THREADS, thread_name_prefix="redress-task")


def _run(task: Task, args: tuple[Any, ...]) -> None:  # type: ignore[type-arg]
    try:
        task.apply(args=args, throw=False)
    except Exception:  # a background thread has nobody to raise to: log it
        logger.exception("In-process task %s failed", task.name)
    finally:
        # Each pool thread has its own database connection; do not leak them.
        connections.close_all()


def enqueue(task: Task, *args: Any) -> None:  # type: ignore[type-arg]
    """Send a task to the broker, or run it on the in-process pool when there is none."""
    if app.conf.task_always_eager and settings.INPROCESS_TASK_THREADS > 0:
        _executor().submit(_run, task, args)
    else:
        task.delay(*args)
