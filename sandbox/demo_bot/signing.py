"""Checking `X-HITL-Signature` the way the issue tells bots to, written independently of the portal.

Header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, one v1 per active secret of
the connection (two during a rotation). Valid when any v1 matches and t is within the tolerance.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(header: str, body: bytes, secret: str, tolerance: int = 300) -> bool:
    timestamp, candidates = None, []
    for part in (header or "").split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates or abs(time.time() - timestamp) > tolerance:
        return False
    expected = sign(body, secret, timestamp).split("v1=", 1)[1]
    # compare_digest on every candidate: no early exit that would time which one matched.
    return any([hmac.compare_digest(expected, candidate) for candidate in candidates])


def verify_standard(headers, body: bytes, secret: str, tolerance: int = 300) -> bool:
    """The Standard Webhooks scheme (webhook-id, webhook-timestamp, webhook-signature: v1,<b64>),
    keyed with the base64 part of the `whsec_` secret, as the specification says."""
    msg_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "").split()
    if not (msg_id and stamp.isdigit() and signatures) or abs(time.time() - int(stamp)) > tolerance:
        return False
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        return False
    digest = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(digest).decode()
    return any([hmac.compare_digest(expected, candidate) for candidate in signatures])
