"""A bot's callback endpoint on 127.0.0.1 (tests/http_receiver.py) that verifies X-HITL-Signature.

It plays the bot in the end-to-end tests. Each POST is checked against the callback secret (the
same way the issue tells bot authors to: HMAC-SHA256 of "<t>.<raw body>", any v1 may match, 5 min
window), answered 401 when the signature is wrong, with a queued failure status when the test
asked for failures, otherwise 200. Only envelopes answered 2xx count as received by the bot.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import deque

from tests.http_receiver import HTTPReceiver, Reply, Request


def signature_ok(header: str, body: bytes, secret: str, tolerance: int = 300) -> bool:
    parts = [p.strip().partition("=") for p in (header or "").split(",")]
    stamps = [v for k, _, v in parts if k == "t"]
    candidates = [v for k, _, v in parts if k == "v1" and v]
    if len(stamps) != 1 or not stamps[0].isdigit() or not candidates:
        return False
    if abs(time.time() - int(stamps[0])) > tolerance:
        return False
    expected = hmac.new(secret.encode(), stamps[0].encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, c) for c in candidates)


class CallbackReceiver:
    def __init__(self) -> None:
        self.secret = ""
        self.accepted: list[dict] = []  # envelopes answered 2xx, in arrival order
        self.attempts: list[tuple[int, bytes]] = []  # every POST: (status answered, body)
        self.failures: deque[int] = deque()  # statuses for the next valid POSTs (then 200)
        self._server = HTTPReceiver(self._answer)
        self._lock = threading.Lock()

    def _answer(self, request: Request) -> Reply:
        with self._lock:
            if not signature_ok(request.headers.get("X-HITL-Signature", ""), request.body, self.secret):
                status = 401
            elif self.failures:
                status = self.failures.popleft()
            else:
                status = 200
                self.accepted.append(request.json)
            self.attempts.append((status, request.body))
        return Reply(status, b"ok" if status == 200 else b"bot says no", content_type="text/plain")

    def start(self) -> CallbackReceiver:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    @property
    def url(self) -> str:
        return self._server.url("/bot/callback")

    def received(self) -> list[dict]:
        with self._lock:
            return list(self.accepted)

    def rejected(self) -> int:
        with self._lock:
            return sum(status == 401 for status, _ in self.attempts)
