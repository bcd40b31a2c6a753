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


class Match(models.TextChoices):
    """What the content match found. Blank: the content was not examined (gone, error, refused).

    NOT_FOUND and INCONCLUSIVE are kept apart because only a conclusive
    absence may mark content as removed: a candidate that timed out, a page
    cut at the byte cap or candidates left over at the cap could have held it.
    """

    NO_HASHES = "no_hashes", "Not compared: the case has no hashes"
    MATCHED = "matched", "Match"
    REVIEW = "review", "Possible match: needs review"
    NOT_FOUND = "not_found", "Not found"
    INCONCLUSIVE = "inconclusive", "Not found in what could be examined"


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
    # The content match (never run on the minors path). The best comparison
    # is kept even without a match: a distance of 40 and one of 120 tell an
    # advocate different things.
    match = models.CharField(max_length=16, choices=Match.choices, blank=True)
    match_media = models.ForeignKey(
        "hashing.MediaItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    match_algorithm = models.CharField(max_length=16, blank=True)
    match_distance = models.PositiveSmallIntegerField(null=True, blank=True)
    candidates_found = models.PositiveIntegerField(default=0)
    candidates_examined = models.PositiveIntegerField(default=0)
    candidates_failed = models.PositiveIntegerField(default=0)
    # One entry per candidate examined: its URL, where on the page it was
    # found, what happened, the SHA-256 and size of its bytes and its
    # distances. Digests and numbers only, never the bytes.
    candidates = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-checked_at", "-id"]

    def __str__(self) -> str:
        return f"{self.checked_at:%Y-%m-%d %H:%M} {self.outcome} {self.http_status or ''}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("URL checks are immutable")
        super().save(*args, **kwargs)


class CheckClaim(models.Model):
    """The re-check schedule's claim on a URL: when a check of it was last queued.

    One row per URL, moved forward only by a conditional UPDATE on the value
    the scheduler read (`monitoring.schedule.claim`), so two beat runs or two
    schedulers never queue the same URL twice. A claim is outstanding until a
    check is recorded after it, or until CHECK_CLAIM_MINUTES pass (a lost task).
    """

    reported_url = models.OneToOneField(
        "cases.ReportedURL", primary_key=True, on_delete=models.CASCADE, related_name="check_claim"
    )
    claimed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.reported_url_id} claimed {self.claimed_at:%Y-%m-%d %H:%M}"
