"""Perceptual hashing for Redress.

The package root is the pure library (no Django): `hash_image`,
`hash_video`, `distance`, the match rules (`pdq_match`, `video_match`), the
exact match index (`HashIndex`), the typed errors. The Django app (models
for stored hashes) is `hashing.apps.HashingConfig` and is only loaded by
Django itself.
"""

from .errors import CorruptMedia, HashingError, MediaTooLarge, UnsupportedMedia
from .image import ALGORITHM_VERSIONS, PDQ_MATCH_THRESHOLD, ImageHashes, distance, hash_image, pdq_match
from .index import HashIndex
from .video import VIDEO_ALGORITHM_VERSIONS, VideoFrame, VideoHashes, VideoMatch, hash_video, video_match

__all__ = [
    "ALGORITHM_VERSIONS",
    "PDQ_MATCH_THRESHOLD",
    "VIDEO_ALGORITHM_VERSIONS",
    "CorruptMedia",
    "HashIndex",
    "HashingError",
    "ImageHashes",
    "MediaTooLarge",
    "UnsupportedMedia",
    "VideoFrame",
    "VideoHashes",
    "VideoMatch",
    "distance",
    "hash_image",
    "hash_video",
    "pdq_match",
    "video_match",
]
