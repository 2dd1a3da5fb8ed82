"""`Authorization: Bearer <bot API key>`.

Keys are `hitl_` + 43 random characters; the row is found by the visible prefix and the sha256 is
compared in constant time, so neither timing nor a DB index scan on the hash reveals anything.
`request.user` is None (bots are not Django users); `request.auth` is the BotApiKey and every
view filters by `request.auth.connection`.
"""

from __future__ import annotations

import datetime as dt
import hmac

from django.db.models import F
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from connections.models import BotApiKey, ConnectionStatus
from connections.models.access import KEY_PREFIX, hash_key

# last_used_at is for people ("is this key still used?"), not auditing: one write a minute is plenty.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
PREFIX_LENGTH = len(KEY_PREFIX) + 8


class BotUser:
    """Stands in for request.user so DRF's IsAuthenticated works for keys."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, key: BotApiKey):
        self.key = key

    def __str__(self) -> str:
        return f"bot key {self.key.prefix}"


class BotKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").strip()
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise exceptions.AuthenticationFailed("Send the bot API key as 'Authorization: Bearer hitl_…'.")
        return self._authenticate_key(token)

    def _authenticate_key(self, token: str):
        key = None
        if token.startswith(KEY_PREFIX) and len(token) > PREFIX_LENGTH:
            # The key's own columns and its connection's status, nothing else: most requests need
            # only the connection's id, and joining its 23 columns and its tenant was a fifth of a
            # message's send (docs/benchmarks.md). A start reads the connection when it uses it.
            key = (
                BotApiKey.objects.annotate(connection_status=F("connection__status"))
                .filter(prefix=token[:PREFIX_LENGTH])
                .first()
            )
        # Compare even without a row, so an unknown prefix costs the same as a wrong key.
        expected = key.key_hash if key else "0" * 64
        if not hmac.compare_digest(expected, hash_key(token)) or key is None:
            raise exceptions.AuthenticationFailed("Unknown bot API key.")
        if key.revoked_at is not None:
            raise exceptions.AuthenticationFailed(
                f"This bot API key ({key.prefix}…) was revoked; ask an admin for a new one."
            )
        if key.connection_status == ConnectionStatus.DISCONNECTED:
            raise exceptions.AuthenticationFailed(
                f"The connection of this bot API key ({key.prefix}…) is disconnected; "
                "an admin must reconnect it before the key works again."
            )
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            BotApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now
        return BotUser(key), key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class BotKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "conversations.api.authentication.BotKeyAuthentication"
    name = "BotApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A bot API key of the connection (created in the admin, shown once).",
        }
