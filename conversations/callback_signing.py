"""The two ways a callback can be signed, chosen per connection (`Connection.callback_signature`).

* **hitl** (the default): ``X-HITL-Signature: t=<unix seconds>,v1=<hex>`` where ``v1`` is the hex
  HMAC-SHA256 of ``"<t>.<raw body>"`` keyed with the secret string as a whole (Stripe's scheme;
  `conversations.callbacks.verify_signature` is its reference check).
* **standard**: the Standard Webhooks specification (standardwebhooks.com), so a bot verifies
  with an off-the-shelf library in its own language::

      webhook-id: <event id>             (the same id on every retry: the dedupe key)
      webhook-timestamp: <unix seconds>
      webhook-signature: v1,<base64>     (one per active secret, space-separated, newest first)

  ``<base64>`` is the standard base64 of HMAC-SHA256 over ``"<id>.<timestamp>.<raw body>"``, keyed
  with the bytes the secret's base64 part (after ``whsec_``) decodes to. Secrets are issued as
  ``whsec_`` + standard base64 of 32 random bytes, so one secret works in either scheme. A secret
  from before that format (URL-safe base64) cannot be decoded the way the libraries decode it: it
  does not sign in this scheme, and the admin says to rotate.

Both schemes sign the same bytes the bot receives; both carry the X-HITL-Event-* headers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

from connections.models import CallbackSignature

HITL = CallbackSignature.HITL.value
STANDARD = CallbackSignature.STANDARD.value
SECRET_PREFIX = "whsec_"


def standard_key(secret: str) -> bytes | None:
    """The HMAC key a Standard Webhooks library derives from `secret`, or None if it cannot."""
    encoded = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    return key or None


def standard_signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def standard_headers(
    secrets: list[str], msg_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The three webhook-* headers, or {} when no secret is usable in this scheme."""
    keys = [key for key in map(standard_key, secrets) if key]
    if not keys:
        return {}
    t = int(time.time()) if timestamp is None else int(timestamp)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(t),
        "webhook-signature": " ".join(standard_signature(key, msg_id, t, body) for key in keys),
    }


def is_standard_secret(secret: str) -> bool:
    return secret.startswith(SECRET_PREFIX) and standard_key(secret) is not None


def signing_of(connection_id: int) -> tuple[str, list[str]]:
    """(scheme, active secrets newest first) of a connection, in one query."""
    from connections.models import CallbackSecret, Connection

    rows = list(
        CallbackSecret.objects.filter(connection_id=connection_id, retired_at__isnull=True)
        .order_by("-created_at", "-pk")
        .values_list("secret", "connection__callback_signature")
    )
    if not rows:
        scheme = Connection.objects.filter(pk=connection_id).values_list("callback_signature", flat=True)
        return (scheme.first() or HITL), []
    return rows[0][1], [secret for secret, _ in rows]


def signature_headers(scheme: str, secrets: list[str], event_id: str, body: bytes) -> dict[str, str]:
    """The signature headers of one POST in `scheme` ({} when nothing can sign it)."""
    if scheme == STANDARD:
        return standard_headers(secrets, event_id, body)
    from conversations.callbacks import SIGNATURE_HEADER, signature_header

    return {SIGNATURE_HEADER: signature_header(secrets, body)} if secrets else {}
