"""Stored hashes: the only trace of a survivor's media that Redress keeps."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from redress.crypto import EncryptedTextField


class MediaKind(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"


class MediaSource(models.TextChoices):
    BROWSER = "browser", "Hashed on the person's device"
    SERVER = "server", "Hashed in memory on the server (advocate intake)"


class MediaItem(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="media")
    kind = models.CharField(max_length=8, choices=MediaKind.choices, default=MediaKind.IMAGE)
    source = models.CharField(max_length=8, choices=MediaSource.choices)
    # A label the person chose ("photo from March"); never the file name,
    # which often carries a name or a date.
    label = EncryptedTextField(blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class Algorithm(models.TextChoices):
    PDQ = "pdq", "PDQ (256-bit)"
    PHASH = "phash", "pHash (64-bit)"
    DHASH = "dhash", "dHash (64-bit)"
    MD5 = "md5", "MD5"
    SHA256 = "sha256", "SHA-256"


# Hex length of each algorithm's value, used to validate hashes from clients.
HEX_LENGTHS = {Algorithm.PDQ: 64, Algorithm.PHASH: 16, Algorithm.DHASH: 16, Algorithm.MD5: 32, Algorithm.SHA256: 64}


class Hash(models.Model):
    media = models.ForeignKey(MediaItem, on_delete=models.CASCADE, related_name="hashes")
    algorithm = models.CharField(max_length=16, choices=Algorithm.choices)
    version = models.CharField(max_length=16, default="1")
    value = models.CharField(max_length=64, db_index=True)
    # PDQ's own quality score (0-100); below 50 the hash is unreliable.
    quality = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Re-hashing fills gaps and never duplicates (STYLE.md, 5).
            models.UniqueConstraint(fields=["media", "algorithm", "version"], name="hash_unique_per_version")
        ]

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.value}"


class VideoFrame(models.Model):
    """One kept frame of a video's 1 fps PDQ sampling (the vPDQ rule compares these).

    Only the frame's time, PDQ and quality are kept; near-duplicate
    consecutive frames were already dropped by whoever hashed the video.
    """

    media = models.ForeignKey(MediaItem, on_delete=models.CASCADE, related_name="frames")
    index = models.PositiveIntegerField()
    seconds = models.FloatField()
    pdq = models.CharField(max_length=64)
    quality = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["media", "index"]
        constraints = [models.UniqueConstraint(fields=["media", "index"], name="videoframe_unique_index")]

    def __str__(self) -> str:
        return f"frame {self.index} of media #{self.media_id} at {self.seconds:.1f}s"
