"""The Celery application.

Configuration lives in Django settings under the CELERY_ namespace, so the
embedded default (no broker: tasks run eagerly, in-process) and production
(a Redis or RabbitMQ broker with separate workers) differ only by environment.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "redress.settings")

app = Celery("redress")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
