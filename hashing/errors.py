"""Typed hashing errors, each with a message a person can act on."""


class HashingError(Exception):
    """Base class: the media could not be hashed."""


class UnsupportedMedia(HashingError):
    """Not an image or video format we can read."""


class CorruptMedia(HashingError):
    """A known format, but the file is damaged or truncated."""


class MediaTooLarge(HashingError):
    """Too many bytes or pixels to decode safely (e.g. a decompression bomb)."""
