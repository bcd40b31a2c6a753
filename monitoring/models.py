"""The evidence log: one immutable row per check of a reported URL."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone


class Outcome(models.TextChoices):
    REACHABLE = "reachable", "Reachable"
    GONE = "gone", "Gone (404/410)"
    ERROR = "error", "Could not check"
    REFUSED = "refused", "Refused to fetch"


class URLCheck(models.Model):
    reported_url = models.ForeignKey("cases.ReportedURL", on_delete=models.CASCADE, related_name="checks")
    checked_at = models.DateTimeField(default=timezone.now, db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    final_url = models.URLField(max_length=2048, blank=True)
    content_type = models.CharField(max_length=200, blank=True)
    bytes_read = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    # The SHA-256 of the bytes examined: evidence of what was seen, without keeping it.
    content_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-checked_at", "-id"]

    def __str__(self) -> str:
        return f"{self.checked_at:%Y-%m-%d %H:%M} {self.outcome} {self.http_status or ''}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("URL checks are immutable")
        super().save(*args, **kwargs)
