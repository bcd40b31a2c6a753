"""Adding media to a case: only hashes are ever stored."""

from __future__ import annotations

import re
from typing import IO

from django.conf import settings
from django.db import transaction

from cases.errors import CaseError
from cases.models import Case
from cases.services import AnyUser, record_event, require_write, touch, user_or_none

from .errors import HashingError
from .image import ALGORITHM_VERSIONS, hash_image
from .models import HEX_LENGTHS, Algorithm, Hash, MediaItem, MediaKind, MediaSource

MINOR_PATH_REFUSAL = (
    "This case is on the under-18 path, so Redress never handles the images on its server. "
    "Use NCMEC's Take It Down (takeitdown.ncmec.org) or the IWF's Report Remove, which hash on your device."
)


def add_uploaded_media(case: Case, upload: IO[bytes], *, actor: AnyUser, label: str = "") -> MediaItem:
    """Hash an uploaded image in memory and keep only the hashes.

    The bytes live in this function's frame and the in-memory upload buffer;
    both are dropped when the request ends. Nothing is written to disk, the
    database, a log or a task message.
    """
    require_write(actor, case)
    if case.minor_path:
        raise CaseError(MINOR_PATH_REFUSAL, code="minor_path")
    data = upload.read()
    try:
        hashes = hash_image(data, max_pixels=settings.HASHING_MAX_PIXELS)
    except HashingError as exc:
        raise CaseError(str(exc), code=type(exc).__name__) from exc
    finally:
        del data
    values: dict[str, tuple[str, int | None]] = {
        Algorithm.PDQ: (hashes.pdq, hashes.pdq_quality),
        Algorithm.PHASH: (hashes.phash, None),
        Algorithm.DHASH: (hashes.dhash, None),
        Algorithm.MD5: (hashes.md5, None),
        Algorithm.SHA256: (hashes.sha256, None),
    }
    with transaction.atomic():
        media = MediaItem.objects.create(
            case=case,
            kind=MediaKind.IMAGE,
            source=MediaSource.SERVER,
            label=label.strip()[:200],
            width=hashes.width,
            height=hashes.height,
            added_by=user_or_none(actor),
        )
        _store(media, values)
        touch(case)
        record_event(
            case,
            "media.added",
            actor=actor,
            media_id=media.pk,
            source=MediaSource.SERVER,
            pdq_quality=hashes.pdq_quality,
            pdq_reliable=hashes.pdq_reliable,
        )
    return media


_HEX = re.compile(r"^[0-9a-f]+$")


def add_client_hashes(
    case: Case,
    *,
    actor: AnyUser,
    hashes: dict[str, str],
    pdq_quality: int | None,
    kind: str = MediaKind.IMAGE,
    label: str = "",
) -> MediaItem:
    """Store hashes computed on the person's device (the normal path).

    Refused on the minors path too: imagery of a child is for NCMEC's Take It
    Down or the IWF, whose hash lists platforms act on, not for a case file.
    """
    require_write(actor, case)
    if case.minor_path:
        raise CaseError(MINOR_PATH_REFUSAL, code="minor_path")
    values: dict[str, tuple[str, int | None]] = {}
    for algorithm, value in hashes.items():
        if algorithm not in HEX_LENGTHS:
            raise CaseError(f"Unknown hash algorithm {algorithm!r}.", code="unknown_algorithm")
        value = value.strip().lower()
        if len(value) != HEX_LENGTHS[Algorithm(algorithm)] or not _HEX.match(value):
            raise CaseError(f"{algorithm} must be {HEX_LENGTHS[Algorithm(algorithm)]} hex characters.", code="bad_hash")
        values[algorithm] = (value, pdq_quality if algorithm == Algorithm.PDQ else None)
    if Algorithm.PDQ not in values and Algorithm.SHA256 not in values:
        raise CaseError("Send at least a PDQ or a SHA-256 hash.", code="hash_required")
    if pdq_quality is not None and not 0 <= pdq_quality <= 100:
        raise CaseError("pdq_quality must be between 0 and 100.", code="bad_quality")
    with transaction.atomic():
        media = MediaItem.objects.create(
            case=case, kind=kind, source=MediaSource.BROWSER, label=label.strip()[:200], added_by=user_or_none(actor)
        )
        _store(media, values)
        touch(case)
        record_event(case, "media.added", actor=actor, media_id=media.pk, source=MediaSource.BROWSER)
    return media


def _store(media: MediaItem, values: dict[str, tuple[str, int | None]]) -> None:
    Hash.objects.bulk_create(
        [
            Hash(media=media, algorithm=algorithm, version=ALGORITHM_VERSIONS[algorithm], value=value, quality=quality)
            for algorithm, (value, quality) in values.items()
        ]
    )
