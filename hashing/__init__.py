"""Perceptual hashing for Redress.

The package root is the pure library (no Django): `hash_image`, `distance`,
the typed errors. The Django app (models for stored hashes) is
`hashing.apps.HashingConfig` and is only loaded by Django itself.
"""

from .errors import CorruptMedia, HashingError, MediaTooLarge, UnsupportedMedia
from .image import ALGORITHM_VERSIONS, PDQ_MATCH_THRESHOLD, ImageHashes, distance, hash_image, pdq_match

__all__ = [
    "ALGORITHM_VERSIONS",
    "PDQ_MATCH_THRESHOLD",
    "CorruptMedia",
    "HashingError",
    "ImageHashes",
    "MediaTooLarge",
    "UnsupportedMedia",
    "distance",
    "hash_image",
    "pdq_match",
]
