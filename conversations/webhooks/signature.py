"""HubSpot request signature v3: verification of what HubSpot sends us.

    X-HubSpot-Signature-v3      base64(HMAC-SHA256(client_secret, method + uri + body + timestamp))
    X-HubSpot-Request-Timestamp milliseconds since the epoch

(https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation)

Rules beyond HubSpot's own "reject if older than 5 minutes":
- a timestamp more than `MAX_FUTURE_SKEW_MS` ahead of our clock is rejected too; HubSpot's own
  Python helper accepts any future timestamp, which would let a captured request be replayed later.
  The window matches HubSpot's 5 minutes, so a HubSpot clock running ahead of ours (or ours
  behind) is tolerated as much as one running behind;
- signatures are compared as bytes with `hmac.compare_digest`, so a signature of any length or
  charset is a clean mismatch, never an exception (the prior integration crashed on length);
- `uri` must be the URL HubSpot called, built from our configured public origin, never from
  request headers a proxy or client can set.
"""

import base64
import hashlib
import hmac
import time

MAX_AGE_MS = 5 * 60 * 1000
MAX_FUTURE_SKEW_MS = 5 * 60 * 1000

# HubSpot's reference: decode these percent-encodings in the request URI before signing.
_DECODE = {
    "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$",
    "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";",
}  # fmt: skip


class SignatureError(Exception):
    """The request is not provably from HubSpot. `reason` is a stable code for logs and metrics."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def normalise_uri(uri: str) -> str:
    for encoded, char in _DECODE.items():
        uri = uri.replace(encoded, char).replace(encoded.lower(), char)
    return uri


def sign_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    message = method.upper().encode() + normalise_uri(uri).encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_v3(
    *,
    secrets: list[str] | tuple[str, ...],
    method: str,
    uri: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    now_ms: int | None = None,
) -> None:
    """Raise SignatureError unless one of `secrets` signed this exact request recently.

    Several secrets are accepted so an app's client secret can be rotated without dropping
    webhooks signed with the old one during the switch.
    """
    if not signature or not timestamp:
        raise SignatureError(
            "missing", "X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp are required."
        )
    # isascii(): str.isdigit() also accepts characters like "²" that int() then refuses.
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 16:
        raise SignatureError("malformed_timestamp", "X-HubSpot-Request-Timestamp must be epoch milliseconds.")
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    age = now_ms - int(timestamp)
    if age > MAX_AGE_MS:
        raise SignatureError("stale", "The request timestamp is older than 5 minutes.")
    if age < -MAX_FUTURE_SKEW_MS:
        raise SignatureError("future", "The request timestamp is in the future.")
    received = signature.strip().encode("utf-8", "replace")
    for secret in secrets:
        if secret and hmac.compare_digest(sign_v3(secret, method, uri, body, timestamp).encode(), received):
            return
    raise SignatureError("mismatch", "The signature does not match the request.")
