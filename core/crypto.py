"""Symmetric encryption of secrets at rest with Fernet (AES-128-CBC + HMAC-SHA256).

Keys come from `settings.FIELD_ENCRYPTION_KEYS`, newest first: MultiFernet encrypts with the first
and decrypts with any of them, which is what makes rotation possible without downtime.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["InvalidToken", "decrypt", "encrypt", "keyring", "reencrypt"]


@lru_cache(maxsize=4)
def _keyring(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS is empty; generate a key with `manage.py generate_encryption_key`."
        )
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.encode() if isinstance(key, str) else key))
        except (ValueError, TypeError):
            # Never echo the key itself: the message names its position only.
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS entry #{position} is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes)."
            ) from None
    return MultiFernet(fernets)


def keyring() -> MultiFernet:
    return _keyring(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return keyring().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return keyring().decrypt(token.encode()).decode()


def reencrypt(token: str) -> str:
    """The same plaintext under the newest key (MultiFernet.rotate keeps the original timestamp)."""
    return keyring().rotate(token.encode()).decode()
