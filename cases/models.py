"""Organisations, their members, cases, survivors, reported URLs and events."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from redress.crypto import EncryptedTextField


class Organization(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    ADVOCATE = "advocate", "Advocate"
    VIEWER = "viewer", "Viewer (read-only)"


# Roles that may change a case; viewers (e.g. a lawyer) only read.
WRITE_ROLES = frozenset({Role.ADMIN, Role.ADVOCATE})


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ADVOCATE)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role in WRITE_ROLES


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class MinorAnswer(models.TextChoices):
    NO = "no", "No, they were 18 or older"
    YES = "yes", "Yes, they were under 18"
    UNSURE = "unsure", "Not sure"


class ContentKind(models.TextChoices):
    REAL = "real", "A real photo or video"
    AI = "ai", "AI-generated or altered (a 'deepfake')"
    UNKNOWN = "unknown", "Not sure"


class MadeAnswer(models.TextChoices):
    """Whether the survivor made the content themselves (a selfie they shared, say).

    It decides whether copyright-based notices (DMCA) are open to them.
    """

    YES = "yes", "Yes, I took it or made it myself"
    NO = "no", "No, someone else made it"
    UNKNOWN = "unknown", "Not sure"


class Case(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="cases")
    # Human-readable and unguessable: ~60 bits from a Crockford alphabet.
    reference = models.CharField(max_length=24, unique=True)
    status = models.CharField(max_length=16, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    content_kind = models.CharField(max_length=16, choices=ContentKind.choices, default=ContentKind.UNKNOWN)
    # The minors path (DESIGN.md, principle 2): set when the person may have
    # been under 18 in the content. It blocks every server-side fetch or hash.
    minor_path = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.reference


class Survivor(models.Model):
    """The person depicted. Everything identifying is encrypted at rest."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="survivor")
    pseudonym = EncryptedTextField(blank=True)
    legal_name = EncryptedTextField(blank=True)
    email = EncryptedTextField(blank=True)
    phone = EncryptedTextField(blank=True)
    # ISO 3166-1 alpha-2 and a free-text region: needed in clear to choose
    # jurisdictions, and not identifying on their own.
    country = models.CharField(max_length=2)
    region = models.CharField(max_length=100, blank=True)
    consent_act_on_behalf = models.BooleanField(default=False)
    consent_share_hashes = models.BooleanField(default=False)
    under_18_in_content = models.CharField(max_length=8, choices=MinorAnswer.choices)
    made_content = models.CharField(max_length=8, choices=MadeAnswer.choices, default=MadeAnswer.UNKNOWN)

    def __str__(self) -> str:
        return f"Survivor for {self.case_id}"

    @property
    def display_name(self) -> str:
        return self.pseudonym or self.legal_name or "the survivor"


class URLStatus(models.TextChoices):
    """Where a reported URL is in its takedown; the legal moves are in `monitoring.lifecycle`."""

    REPORTED = "reported", "Reported"
    NOTICE_SENT = "notice_sent", "Notice sent"
    ACKNOWLEDGED = "acknowledged", "Acknowledged by the platform"
    STILL_UP = "still_up", "Still up"
    REFUSED = "refused", "Platform refused"
    ESCALATED = "escalated", "Escalated"
    REMOVED = "removed", "Removed"
    REAPPEARED = "reappeared", "Reappeared"


class ReportedURL(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="urls")
    url = models.URLField(max_length=2048)
    # The registrable domain (eTLD+1), used to map to a platform.
    domain = models.CharField(max_length=253)
    platform = models.ForeignKey(
        "notices.Platform", null=True, blank=True, on_delete=models.SET_NULL, related_name="reported_urls"
    )
    status = models.CharField(max_length=16, choices=URLStatus.choices, default=URLStatus.REPORTED)
    # When `status` last changed (None: never since intake). The history is the
    # "url.status_changed" events; this copy lets the re-check schedule and the
    # per-platform statistics ask "removed since when?" without reading the log.
    status_changed_at = models.DateTimeField(null=True, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "url"], name="reportedurl_unique_in_case")]

    def __str__(self) -> str:
        return self.url


class Event(models.Model):
    """One append-only row per thing that happened to a case: the timeline and the audit log.

    `data` holds ids, counts and statuses, never personal data, so the log can
    be exported and kept after a case is purged.
    """

    organization = models.ForeignKey(Organization, null=True, on_delete=models.SET_NULL, related_name="+")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    case_reference = models.CharField(max_length=24, blank=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who, when the actor row is gone or the actor is the system ("worker").
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValueError("Events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("Events are append-only")
