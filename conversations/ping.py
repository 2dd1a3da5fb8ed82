"""The `ping` test event: one signed POST to a bot's callback URL, to check its endpoint and its
signature check before a real escalation depends on them ("Send test event" on a connection's page).

It goes through the same URL check, signing and HTTP attempt as real callbacks, in the connection's
signature scheme with its active secrets, but it is not an event of any escalation: it has no
sequence in a conversation, is never retried, and is recorded in the audit log, not the callback log.
"""

from __future__ import annotations

import json
import time
import uuid

from django.utils import timezone

from conversations import callback_signing, callbacks

PING = "ping"


def envelope(connection) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "type": PING,
        "escalation_id": None,
        "conversation_id": None,
        "sequence": 0,
        "occurred_at": timezone.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "data": {"connection_id": connection.pk, "message": "Test event from the HITL portal."},
    }


def send(connection, url: str) -> tuple[callbacks.Outcome, int]:
    """POST a signed ping to `url`; (outcome, duration in ms). Never raises for the bot's faults."""
    started = time.monotonic()
    event = envelope(connection)
    body = json.dumps(event, separators=(",", ":")).encode()
    try:
        callbacks._check_url(url)
        scheme, secrets = callback_signing.signing_of(connection.pk)
        signature = callback_signing.signature_headers(scheme, secrets, event["id"], body)
        if not signature:
            raise callbacks.CallbackRefused(
                "no active callback secret can sign in this connection's scheme: create or rotate one"
            )
        headers = {
            "Content-Type": "application/json",
            "User-Agent": callbacks.USER_AGENT,
            "X-HITL-Event-Id": event["id"],
            "X-HITL-Event-Type": PING,
            **signature,
        }
        outcome = callbacks._post(url, body, headers)
    except callbacks.CallbackRefused as exc:
        outcome = callbacks.Outcome(False, error=f"refused: {exc}"[:500])
    return outcome, int((time.monotonic() - started) * 1000)
