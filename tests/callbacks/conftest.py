"""Fixtures of the callback tests: a bot on a real HTTP receiver (tests/http_receiver.py) on
127.0.0.1, and escalations with events."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from connections.models import CallbackSecret, Connection, ConnectionStatus
from conversations import events
from conversations.models import Escalation, EventType
from tests.factories import HubSpotAppFactory, TenantFactory
from tests.http_receiver import HTTPReceiver, Reply, Request


@dataclass
class Receiver:
    """A bot: records every request; answers what `respond(envelope, nth_time_seen)` says (200 by
    default). An answer is a status code, or ("sleep", seconds, status) to answer late (a read timeout).
    """

    server: HTTPReceiver
    url: str = ""
    respond: object = None
    delay: float = 0.0  # every answer waits this long (to widen race windows)

    @property
    def received(self) -> list[Request]:
        return self.server.matching(method=None)

    def sequences(self) -> list[int]:
        return [r.json["sequence"] for r in self.received]

    def fail_sequence(self, sequence: int, times: int, status: int = 500) -> None:
        def respond(envelope, seen):
            return status if envelope["sequence"] == sequence and seen <= times else 200

        self.respond = respond

    def answer(self, request: Request) -> Reply:
        envelope = json.loads(request.body or b"{}")
        seen = sum(1 for r in self.received if json.loads(r.body or b"{}").get("id") == envelope.get("id"))
        answer = self.respond(envelope, seen) if self.respond else 200
        delay = self.delay
        if isinstance(answer, tuple):
            _, seconds, answer = answer
            delay += seconds
        body = b'{"ok": true}' if answer < 300 else b'{"error": "bot down", "token": "s3cr3t-tok"}'
        return Reply(status=answer, body=body, delay=delay)


@pytest.fixture
def receiver():
    server = HTTPReceiver()
    rec = Receiver(server)
    server.respond = rec.answer
    with server:
        rec.url = server.url("/hitl/events")
        yield rec


@pytest.fixture(autouse=True)
def callback_settings(settings):
    # The receiver is on 127.0.0.1 over http, which only a development profile may call.
    settings.HITL_ALLOW_PRIVATE_CALLBACKS = True
    settings.HITL_CALLBACK_CONNECT_TIMEOUT = 1.0
    settings.HITL_CALLBACK_READ_TIMEOUT = 0.5
    settings.HITL_CALLBACK_RETRY_SCHEDULE = [10, 30, 60, 300, 900, 3600]
    settings.HITL_CALLBACK_MAX_AGE_HOURS = 24
    return settings


@pytest.fixture
def connection(db):
    app = HubSpotAppFactory(tenant=TenantFactory())
    return Connection.objects.create(
        tenant=app.tenant, app=app, portal_id=424242, status=ConnectionStatus.ACTIVE, name="Bot connection"
    )


@pytest.fixture
def secret(connection) -> str:
    _, plaintext = CallbackSecret.issue(connection)
    return plaintext


def emit_n(escalation: Escalation, n: int, start: int = 1):
    """n agent-message events (sequences start..start+n-1)."""
    return [
        events.emit(escalation, EventType.MESSAGE, {"text": f"message {i}"}, dedupe_key=f"message:{i}")
        for i in range(start, start + n)
    ]
