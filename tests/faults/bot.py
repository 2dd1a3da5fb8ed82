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
import time
from collections import defaultdict, deque
from dataclasses import dataclass

from tests.e2e.callback_receiver import signature_ok
from tests.http_receiver import HTTPReceiver, Reply


@dataclass
class Post:
    event_id: str
    escalation_id: str
    sequence: int
    status: int | str  # the status answered, or "held" for a request held until its sender died


class FaultyBot:
    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.posts: list[Post] = []
        self.applied: dict[str, list[dict]] = defaultdict(list)  # escalation id -> envelopes
        self.applied_ids: set[str] = set()
        self.redeliveries: list[str] = []  # event ids POSTed again after being applied
        # What the next valid POSTs get: a status, ("slow", s) (200 after s seconds) or ("timeout",
        # s) (504 after s seconds, not applied: the bot gave up too). Per escalation id first.
        self.failures: deque = deque()
        self.failures_for: dict[str, deque] = defaultdict(deque)
        self.bad_signatures = 0
        self.hold_next = threading.Event()  # set: hold the next valid POST
        self.holding = threading.Event()  # set by the handler once it holds one
        self.release = threading.Event()
        self._cond = threading.Condition()
        self._server = HTTPReceiver(
            lambda request: Reply(self._answer(request.headers.get("X-HITL-Signature", ""), request.body))
        )

    # Up and down -------------------------------------------------------------------------------

    def start(self) -> FaultyBot:
        """Listen (again, on the same port after a stop())."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Close the socket: callbacks now get "connection refused"."""
        self._server.stop()
        self.release.set()

    @property
    def url(self) -> str:
        return self._server.url("/bot/callback")

    # One POST ----------------------------------------------------------------------------------

    def _answer(self, signature: str, body: bytes) -> int:
        if not signature_ok(signature, body, self.secret):
            with self._cond:
                self.bad_signatures += 1
            return 401
        envelope = json.loads(body)
        with self._cond:
            queue = self.failures_for.get(str(envelope["escalation_id"])) or self.failures
            planned = queue.popleft() if queue else None
        if isinstance(planned, tuple):
            kind, seconds = planned
            time.sleep(seconds)
            if kind == "timeout":
                with self._cond:
                    self._record(envelope, 504)
                return 504
            planned = None  # slow, then answered like any other POST
        with self._cond:
            if planned is not None:
                self._record(envelope, planned)
                return planned
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
