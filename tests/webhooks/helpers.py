"""Helpers of the webhook tests: HubSpot-shaped payload fixtures, HubSpot-signed requests, bot events."""

from __future__ import annotations

import copy
import json
import time
from functools import cache
from pathlib import Path

from django.conf import settings
from hubspot.utils.signature import Signature

from connections.webhook_urls import app_webhook_url, channel_webhook_url
from conversations.models import EscalationEvent

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "hubspot_webhooks"


@cache
def _read(name: str):
    return json.loads((FIXTURES / f"{name}.json").read_text())


def load_fixture(name: str):
    """A payload fixture (`<event>__<variant>`, source in SOURCES.json), deep-copied for the test."""
    return copy.deepcopy(_read(name))


def fixture_names() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


def webhook_url(app, kind: str) -> str:
    return app_webhook_url(app) if kind == "app" else channel_webhook_url(app)


def path_of(url: str) -> str:
    return url.removeprefix(settings.PUBLIC_BASE_URL.rstrip("/"))


def signed_headers(secret: str, url: str, body: bytes, *, ts: int | None = None) -> dict:
    """Headers as HubSpot sends them, signed with HubSpot's own helper (hubspot-api-client)."""
    timestamp = str(ts if ts is not None else int(time.time() * 1000))
    signature = Signature.get_signature(
        secret, body.decode(), "v3", http_uri=url, http_method="POST", timestamp=timestamp
    )
    return {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": timestamp}


def encode(payload) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def deliver(client, app, kind: str, payload=None, *, body: bytes | None = None, headers=None, secret=None):
    """POST a signed webhook through Django's test client (signed over PUBLIC_BASE_URL + path)."""
    url = webhook_url(app, kind)
    body = encode(payload) if body is None else body
    if headers is None:
        headers = signed_headers(secret or app.client_secret, url, body)
    return client.post(path_of(url), data=body, content_type="application/json", headers=headers)


def bot_events(escalation) -> list[tuple[str, dict]]:
    """The bot's events in sequence order, as (type, data) with per-run ids left out."""
    result = []
    for event in EscalationEvent.objects.filter(escalation=escalation).order_by("sequence"):
        data = dict(event.data)
        data.pop("message_id", None)
        if "attachments" in data:
            data["attachments"] = [
                {k: a.get(k) for k in ("type", "name", "content_type", "size")} for a in data["attachments"]
            ]
        result.append((event.type, data))
    return result
