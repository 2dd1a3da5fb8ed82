"""How bots reach us (API keys) and how we prove callbacks are ours (signing secrets)."""

import base64
import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from connections.models.connection import Connection
from core.fields import EncryptedTextField
from tenants.models import TenantScopedQuerySet

KEY_PREFIX = "hitl_"


def hash_key(plaintext: str) -> str:
    # Keys are 256-bit random values, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(plaintext.encode()).hexdigest()


class BotApiKey(models.Model):
    """A bot's credential for the REST API. Only a hash is stored; the key is shown once."""

    tenant_lookup = "connection__tenant"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, default="Bot")
    prefix = models.CharField(
        max_length=20, unique=True, help_text="Visible start of the key, to recognise it."
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "bot API key"
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def issue(cls, connection: Connection, *, name: str = "Bot", created_by=None) -> tuple["BotApiKey", str]:
        """Create a key; returns the row and the plaintext, which is never retrievable again."""
        body = secrets.token_urlsafe(32)
        plaintext = f"{KEY_PREFIX}{body}"
        key = cls.objects.create(
            connection=connection,
            name=name,
            prefix=plaintext[: len(KEY_PREFIX) + 8],
            key_hash=hash_key(plaintext),
            created_by=created_by,
        )
        return key, plaintext

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])


class CallbackSecret(models.Model):
    """Key for signing callbacks to the bot. Two may be active while a bot switches over."""

    tenant_lookup = "connection__tenant"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="callback_secrets")
    secret = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        state = "retired" if self.retired_at else "active"
        return f"Callback secret of {self.connection} ({state}, {self.created_at:%Y-%m-%d})"

    @classmethod
    def issue(cls, connection: Connection) -> tuple["CallbackSecret", str]:
        # Standard base64 of 32 random bytes: usable as is in our X-HITL-Signature scheme and
        # decodable by every Standard Webhooks library (URL-safe base64 is not).
        plaintext = f"whsec_{base64.b64encode(secrets.token_bytes(32)).decode()}"
        return cls.objects.create(connection=connection, secret=plaintext), plaintext
