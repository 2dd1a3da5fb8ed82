"""Symmetric encryption of secrets at rest with Fernet (AES-128-CBC + HMAC-SHA256).

Keys come from `settings.FIELD_ENCRYPTION_KEYS`, newest first: MultiFernet encrypts with the first
and decrypts with any of them, which is what makes rotation possible without downtime.
"""

import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["DecryptionFailed", "InvalidToken", "decrypt", "encrypt", "fingerprint", "keyring", "reencrypt"]


class DecryptionFailed(InvalidToken):
    """A stored secret none of this process's keys opens: a key missing from FIELD_ENCRYPTION_KEYS
    here (e.g. a process not yet restarted with a rotated key list). Answered as a JSON 503 by
    core.errors, since the request can succeed once the process has the key."""


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
    try:
        return keyring().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionFailed(
            "A stored secret cannot be decrypted with this process's FIELD_ENCRYPTION_KEYS "
            f"(fingerprints {', '.join(fingerprints()) or 'none'})."
        ) from None


def fingerprint(key: str) -> str:
    """A short, one-way name for a key: safe to show, log and compare across processes."""
    return hashlib.sha256(key.strip().encode()).hexdigest()[:12]


def fingerprints(keys=None) -> list[str]:
    """Fingerprints of FIELD_ENCRYPTION_KEYS (or `keys`), newest first."""
    return [fingerprint(k) for k in (settings.FIELD_ENCRYPTION_KEYS if keys is None else keys) if k.strip()]


def reencrypt(token: str) -> str:
    """The same plaintext under the newest key (MultiFernet.rotate keeps the original timestamp)."""
    return keyring().rotate(token.encode()).decode()
