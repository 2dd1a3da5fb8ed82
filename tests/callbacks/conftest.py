"""Fixtures of the callback tests: a real HTTP receiver on 127.0.0.1 and escalations with events.

The receiver is a threaded `http.server`, not a mock: the portal's real `requests` call goes over a
socket, so timeouts, status codes and the exact bytes signed are what a bot would see.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connections.models import CallbackSecret, Connection, ConnectionStatus
from conversations import events
from conversations.models import Escalation, EventType
from tests.factories import HubSpotAppFactory, TenantFactory


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def sequence(self) -> int:
        return self.json["sequence"]


@dataclass
class Receiver:
    """Records every request; answers what `respond(envelope, nth_time_seen)` says (default 200).

    An answer is a status code, or ("sleep", seconds, status) to answer late (a read timeout).
    """

    url: str = ""
    received: list[Received] = field(default_factory=list)
    respond: object = None
    delay: float = 0.0  # every answer waits this long (to widen race windows)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sequences(self) -> list[int]:
        return [r.sequence for r in self.received]

    def fail_sequence(self, sequence: int, times: int, status: int = 500) -> None:
        def respond(envelope, seen):
            return status if envelope["sequence"] == sequence and seen <= times else 200

        self.respond = respond


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.lock:
                receiver.received.append(Received(self.path, dict(self.headers), body, time.monotonic()))
                envelope = json.loads(body or b"{}")
                seen = sum(1 for r in receiver.received if r.json.get("id") == envelope.get("id"))
            answer = receiver.respond(envelope, seen) if receiver.respond else 200
            if receiver.delay:
                time.sleep(receiver.delay)
            if isinstance(answer, tuple):
                _, seconds, answer = answer
                time.sleep(seconds)
            payload = b'{"ok": true}' if answer < 300 else b'{"error": "bot down", "token": "s3cr3t-tok"}'
            try:
                self.send_response(answer)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the portal gave up waiting (read timeout)

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def receiver():
    rec = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(rec))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/hitl/events"
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()


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
