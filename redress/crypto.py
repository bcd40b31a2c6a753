"""Encryption at rest for personal data, with rotatable keys.

A thin model field over `cryptography`'s MultiFernet: the first key in
FIELD_ENCRYPTION_KEYS encrypts, every key decrypts, so keys rotate by
prepending a new one and re-encrypting (`manage.py rotate_encryption_keys`).
Values are authenticated (Fernet is AES-CBC + HMAC), so a tampered ciphertext
fails loudly instead of decrypting to garbage.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty")
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except ValueError as exc:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS holds a key that is not a Fernet key") from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "An encrypted value cannot be decrypted with FIELD_ENCRYPTION_KEYS (a key is missing?)"
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt a token under the primary key."""
    return fernet().rotate(token.encode()).decode()


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """A text column stored as a Fernet token; empty strings stay empty.

    Encrypted columns cannot be searched or indexed by value: look rows up by
    other columns and decrypt in Python.
    """

    description = "Text encrypted at rest"

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return decrypt(value)
