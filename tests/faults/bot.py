"""A bot's callback endpoint that misbehaves on cue, and dedupes by X-HITL-Event-Id like a bot must.

Unlike tests/e2e/callback_receiver.py (which it reuses for signature checks) it can be *down*
(the socket closed: connection refused), answer queued failure statuses, and *hold* a request
until the test has killed the worker that sent it. It records every POST and applies each event
id once: an envelope is "applied" the first time the bot answers it 2xx or holds it (a bot that
processed an event and then lost the connection has still processed it); any later POST of an
applied id is a redelivery, suppressed and counted.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.e2e.callback_receiver import signature_ok


@dataclass
class Post:
    event_id: str
    escalation_id: str
    sequence: int
    status: int | str  # the status answered, or "held" for a request held until its sender died


class FaultyBot:
    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.port = 0
        self.posts: list[Post] = []
        self.applied: dict[str, list[dict]] = defaultdict(list)  # escalation id -> envelopes
        self.applied_ids: set[str] = set()
        self.redeliveries: list[str] = []  # event ids POSTed again after being applied
        self.failures: deque[int] = deque()  # statuses for the next valid POSTs
        self.bad_signatures = 0
        self.hold_next = threading.Event()  # set: hold the next valid POST
        self.holding = threading.Event()  # set by the handler once it holds one
        self.release = threading.Event()
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None

    # Up and down -------------------------------------------------------------------------------

    def start(self) -> FaultyBot:
        bot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = bot._answer(self.headers.get("X-HITL-Signature", ""), body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender died while we held it

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Close the socket: callbacks now get "connection refused"."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.release.set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot/callback"

    # One POST ----------------------------------------------------------------------------------

    def _answer(self, signature: str, body: bytes) -> int:
        if not signature_ok(signature, body, self.secret):
            with self._cond:
                self.bad_signatures += 1
            return 401
        envelope = json.loads(body)
        with self._cond:
            if self.failures:
                status = self.failures.popleft()
                self._record(envelope, status)
                return status
            held = self.hold_next.is_set()
            if held:
                self.hold_next.clear()
            self._apply(envelope)
            self._record(envelope, "held" if held else 200)
        if held:
            self.holding.set()
            self.release.wait(timeout=60)
        return 200

    def _record(self, envelope: dict, status) -> None:
        self.posts.append(Post(envelope["id"], envelope["escalation_id"], envelope["sequence"], status))
        self._cond.notify_all()

    def _apply(self, envelope: dict) -> None:
        if envelope["id"] in self.applied_ids:
            self.redeliveries.append(envelope["id"])
            return
        self.applied_ids.add(envelope["id"])
        self.applied[envelope["escalation_id"]].append(envelope)

    # What the bot saw --------------------------------------------------------------------------

    def events(self, escalation_id: str) -> list[dict]:
        with self._cond:
            return list(self.applied.get(str(escalation_id), []))

    def count(self) -> int:
        with self._cond:
            return len(self.applied_ids)

    def failed_posts(self) -> int:
        with self._cond:
            return sum(1 for p in self.posts if p.status not in (200, "held"))
