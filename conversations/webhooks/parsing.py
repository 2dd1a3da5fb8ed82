"""Turning a verified body into events: JSON and shape checks, de-duplication keys, normalised fields.

App webhooks (contract §9.3) are a JSON array of at most 100 objects, each with `eventId`,
`subscriptionType` and `portalId`. Custom-channel webhooks (§5.4) are one JSON object with `type`.
Anything else is a 400 naming what is wrong: HubSpot does not retry a 400 forever, and a person
reading the log learns what was sent.

De-duplication keys (unique per app in HubSpotEvent):
- app events: `event:<eventId>`, HubSpot's own id, identical on every retry;
- agent messages from the channel: `message:<message id>`, so a retried delivery is one event;
- other channel events: `channel:<eventId>`, or, without one, a hash of the canonical body.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass

from django.conf import settings
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ParseError, ValidationError

APP_REQUIRED_FIELDS = ("eventId", "subscriptionType", "portalId")
OUTGOING_MESSAGE = "OUTGOING_CHANNEL_MESSAGE_CREATED"


@dataclass(frozen=True)
class ParsedEvent:
    dedupe_key: str
    event_type: str
    portal_id: int | None
    object_id: str
    occurred_at: dt.datetime | None
    payload: dict


def _refuse_constant(name: str):
    # Python's json accepts NaN and Infinity; JSON (and PostgreSQL's jsonb) does not.
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range for a JSON number")
    return value


def load_json(body: bytes):
    try:
        data = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ParseError(f"The body is not valid JSON: {exc}") from None
    except RecursionError:
        raise ParseError("The body's JSON is nested too deeply.") from None
    # Found by fuzzing (tests/faults/test_webhook_fuzz.py), each a 500 when the event was saved:
    # NaN/Infinity/1e999 (above), deep nesting (RecursionError), and a lone surrogate escape such
    # as "\ud800", valid JSON but not storable as UTF-8 or in jsonb.
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ParseError("The body contains an unpaired UTF-16 surrogate escape (like \\ud800).") from None
    # Valid JSON, but PostgreSQL's jsonb cannot store U+0000: refuse it here as a 400 instead of
    # failing later with a 500 when the event is saved.
    if b"\\u0000" in body.lower():
        raise ParseError("The body contains a NUL character (\\u0000), which cannot be stored.")
    return data


def parse_app_events(body: bytes) -> list[ParsedEvent]:
    data = load_json(body)
    limit = settings.HITL_WEBHOOK_MAX_EVENTS
    if not isinstance(data, list) or not data:
        raise ValidationError({"detail": "An app webhook body must be a non-empty JSON array of events."})
    if len(data) > limit:
        raise ValidationError({"detail": f"At most {limit} events per request; got {len(data)}."})
    events = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise ValidationError({"detail": f"Event {index} is not a JSON object."})
        missing = [f for f in APP_REQUIRED_FIELDS if item.get(f) in (None, "")]
        if missing:
            raise ValidationError({"detail": f"Event {index} lacks {', '.join(missing)}."})
        portal_id = _int(item["portalId"])
        if portal_id is None or not isinstance(item["subscriptionType"], str):
            raise ValidationError({"detail": f"Event {index} has a malformed portalId or subscriptionType."})
        events.append(
            ParsedEvent(
                dedupe_key=f"event:{item['eventId']}",
                event_type=item["subscriptionType"][:80],
                portal_id=portal_id,
                object_id=str(item.get("objectId") or "")[:64],
                occurred_at=parse_ms(item.get("occurredAt")),
                payload=item,
            )
        )
    return events


def parse_channel_event(body: bytes) -> list[ParsedEvent]:
    data = load_json(body)
    event_type = channel_event_type(data)
    if not event_type:
        raise ValidationError({"detail": "A channel webhook body must be a JSON object with a `type`."})
    message = data.get("message") if isinstance(data.get("message"), dict) else {}
    if event_type == OUTGOING_MESSAGE:
        if not message.get("id"):
            raise ValidationError({"detail": f"{OUTGOING_MESSAGE} needs message.id."})
        key = f"message:{message['id']}"
    elif data.get("eventId"):
        key = f"channel:{data['eventId']}"
    else:
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
        key = f"channel:{event_type}:{hashlib.sha256(canonical).hexdigest()[:40]}"
    occurred = parse_iso(data.get("eventTimestamp")) or parse_iso(message.get("createdAt"))
    return [
        ParsedEvent(
            dedupe_key=key[:200],
            event_type=event_type[:80],
            portal_id=_int(data.get("portalId")),
            object_id=str(message.get("conversationsThreadId") or "")[:64],
            occurred_at=occurred,
            payload=data,
        )
    ]


def channel_event_type(data) -> str:
    """`type`, or `eventType` as some custom-channel webhooks name it (seen in working
    integrations); "" when neither is a non-empty string."""
    if not isinstance(data, dict):
        return ""
    for key in ("type", "eventType"):
        if isinstance(data.get(key), str) and data[key]:
            return data[key]
    return ""


def _int(value) -> int | None:
    """A non-negative id that fits the database's bigint, from an int or a digit string."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 20:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return value
    return None


def parse_ms(value) -> dt.datetime | None:
    ms = _int(value)
    if ms is None:
        return None
    try:
        return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_iso(value) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed
