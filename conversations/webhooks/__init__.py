"""Receiving HubSpot's webhooks: signature verification, storage, dispatch.

    authentication.py  DRF authenticator: app by URL token, body limit, v3 signature (raw bytes)
    parsing.py         JSON and shape checks, one `ParsedEvent` per HubSpot event
    storage.py         WebhookReceipt + de-duplicated HubSpotEvent rows, processing enqueued
    views.py           the two thin endpoints (app subscriptions, custom channel)
    signature.py       the v3 verifier itself

Processing (what an event does to an escalation) lives in `conversations.processing`.
"""

from __future__ import annotations

import datetime as dt


def last_received_at(app) -> dt.datetime | None:
    """When the app last sent us a correctly signed webhook (None: never).

    For the connection health page: unsigned or rejected requests are not stored, so they do not
    count as "HubSpot reaches us".
    """
    from conversations.models import WebhookReceipt

    return (
        WebhookReceipt.objects.filter(app=app)
        .order_by("-received_at")
        .values_list("received_at", flat=True)
        .first()
    )
