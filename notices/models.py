"""Platforms and the takedown notices sent to them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from redress.crypto import EncryptedTextField


class PlatformKind(models.TextChoices):
    PLATFORM = "platform", "Platform (user content)"
    HOST = "host", "Host or file locker"
    SEARCH_ENGINE = "search_engine", "Search engine"


class Platform(models.Model):
    """One entry of the platform directory (notices/data/platforms.json)."""

    slug = models.SlugField(unique=True)
    kind = models.CharField(max_length=16, choices=PlatformKind.choices, default=PlatformKind.PLATFORM)
    name = models.CharField(max_length=200)
    # Registrable domains (eTLD+1) this platform serves content from.
    domains = models.JSONField(default=list)
    ncii_email = models.EmailField(blank=True)
    report_form_url = models.URLField(blank=True)
    dmca_email = models.EmailField(blank=True)
    jurisdiction = models.CharField(max_length=2, blank=True, help_text="ISO country of headquarters")
    stopncii_partner = models.BooleanField(default=False)
    as_of = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class NoticeStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SIGNED = "signed", "Signed"
    SENDING = "sending", "Sending by email"
    SENT = "sent", "Sent"


class SignerCapacity(models.TextChoices):
    SELF = "self", "The person depicted"
    REPRESENTATIVE = "representative", "An authorised person acting on their behalf"


class Notice(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="notices")
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="notices")
    basis = models.CharField(max_length=64, help_text="Legal basis id from notices/bases/")
    urls = models.ManyToManyField("cases.ReportedURL", related_name="notices")
    status = models.CharField(max_length=16, choices=NoticeStatus.choices, default=NoticeStatus.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The electronic signature: typed full name, capacity, the attested text, when.
    signer_name = EncryptedTextField(blank=True)
    signer_capacity = models.CharField(max_length=16, choices=SignerCapacity.choices, blank=True)
    attestation = models.TextField(blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Frozen at signing, so what was signed can be shown exactly later. They
    # hold the survivor's contact details, hence encrypted.
    frozen_html = EncryptedTextField(blank=True)
    frozen_text = EncryptedTextField(blank=True)
    frozen_pdf_b64 = EncryptedTextField(blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Sending by email (notices.tasks.send_notice_email). The platform's
    # address is not personal data, so it is stored plainly.
    sent_to = models.EmailField(blank=True)
    # The Message-ID of the email that went out; while sending, the claim of
    # the attempt in flight (so a redelivered task never sends twice).
    message_id = models.CharField(max_length=255, blank=True)
    send_attempts = models.PositiveSmallIntegerField(default=0)
    last_send_error = models.TextField(blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.basis} notice to {self.platform_id} ({self.status})"

    @property
    def basis_name(self) -> str:
        from .catalogue import load_catalogue

        basis = load_catalogue().get(self.basis)
        return basis.name if basis else self.basis

    @property
    def is_frozen(self) -> bool:
        return self.signed_at is not None
