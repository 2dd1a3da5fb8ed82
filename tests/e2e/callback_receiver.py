"""A bot's callback endpoint on 127.0.0.1: a threaded http.server that verifies X-HITL-Signature.

It plays the bot in the end-to-end tests. Each POST is checked against the callback secret (the
same way the issue tells bot authors to: HMAC-SHA256 of "<t>.<raw body>", any v1 may match, 5 min
window), answered 401 when the signature is wrong, with a queued failure status when the test
asked for failures, otherwise 200. Only envelopes answered 2xx count as received by the bot.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._cond:
                    if not signature_ok(self.headers.get("X-HITL-Signature", ""), body, receiver.secret):
                        status = 401
                    elif receiver.failures:
                        status = receiver.failures.popleft()
                    else:
                        status = 200
                        receiver.accepted.append(json.loads(body))
                    receiver.attempts.append((status, body))
                    receiver._cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"bot says no")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> CallbackReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/bot/callback"

    def received(self) -> list[dict]:
        with self._cond:
            return list(self.accepted)

    def rejected(self) -> int:
        with self._cond:
            return sum(status == 401 for status, _ in self.attempts)
