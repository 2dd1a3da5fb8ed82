"""Record the bot's escalation-changing calls (start, message, close) for the admin's timeline.

One INSERT per request, nothing else: the escalation comes from the view itself (`get_object()`,
or the start's response body), the key and connection from the authentication that already ran.
Usually it runs after the response is built. A message the bot sends is recorded inside the
transaction that stores it instead (`record_within`): one durable commit per send, not two (the
second was a tenth of the send's time, docs/benchmarks.md). Every other outcome of a send (a
retry's 200, a 409, a 4xx, a 500) is recorded after the response, as before.

Reads (detail, list, events) are not recorded: bots poll them, and the timeline is about what
changed. Refusals are recorded (a 409 after close, a 422 for an unknown contact), with our error
code, never a body, a header or the key.

Recording after the response must never fail the bot's call: any error is logged and swallowed,
inside a savepoint when a transaction is open so the failed INSERT cannot poison it. A record
written with a new message shares that message's fate instead: both are stored, or neither is and
the bot's call fails (and is then recorded after the response, with its 500).
"""

from __future__ import annotations

import logging
import time

from django.db import connection, transaction
from django.utils import timezone

from conversations.models import BotApiRequest
from core import request_id
from core.crypto import DecryptionFailed

log = logging.getLogger(__name__)

# view action -> what the timeline calls it
RECORDED_ACTIONS = {"create": "start", "messages": "message", "close": "close"}


class RecordsBotRequests:
    """Mixin for the bot API's escalation viewset (before GenericViewSet in the bases)."""

    def dispatch(self, request, *args, **kwargs):
        started = time.monotonic()
        self._received_at = timezone.now()  # the timeline places the call when it arrived
        self._recorded_escalation = None
        self._recorded = False
        self._started = started
        try:
            response = super().dispatch(request, *args, **kwargs)
        except Exception as exc:
            # What core.errors answers for it: 503 for a secret this process cannot decrypt.
            self._record(503 if isinstance(exc, DecryptionFailed) else 500, started, None)
            raise
        self._record(response.status_code, started, response)
        return response

    def get_object(self):
        obj = super().get_object()
        self._recorded_escalation = obj  # known to exist and to belong to the key's connection
        return obj

    def _escalation_id(self, status_code: int, response):
        if self._recorded_escalation is not None:
            return self._recorded_escalation.pk
        if getattr(self, "action", None) == "create" and status_code in (200, 201):
            data = getattr(response, "data", None)
            if isinstance(data, dict) and data.get("id"):
                return data["id"]
        return None

    def record_within(self, status_code: int) -> None:
        """Record the request now, in the caller's open transaction, as answered with `status_code`:
        stored with what the request stored, or not at all. The answer is not built yet, so the
        duration ends here (the commit and the serialising are left out). Unless the caller then
        says `record_rolled_back()`, nothing is recorded again after the response.

        No savepoint around the INSERT (two more round trips): every value is bounded to its
        column here, and the foreign keys are checked at the commit, with or without one."""
        row = self._row(status_code, self._started, None)
        if row is not None:
            row.save(force_insert=True)
            self._recorded = True

    def record_rolled_back(self) -> None:
        """The transaction `record_within` wrote in did not commit: record after the response."""
        self._recorded = False

    def _row(self, status_code: int, started: float, response) -> BotApiRequest | None:
        action = RECORDED_ACTIONS.get(getattr(self, "action", None))
        request = getattr(self, "request", None)
        key = getattr(request, "_auth", None) if request is not None else None
        if action is None or key is None:
            return None  # a read, or no valid key (401): nothing of a tenant to attach it to
        if status_code == 429:
            return None  # a throttled flood must not turn into a flood of INSERTs
        data = getattr(response, "data", None)
        error = data.get("error", "") if status_code >= 400 and isinstance(data, dict) else ""
        return BotApiRequest(
            connection_id=key.connection_id,
            api_key_id=key.pk,
            escalation_id=self._escalation_id(status_code, response),
            action=action,
            method=request.method[:8],
            path=request.path[:300],
            status_code=status_code,
            error_code=str(error)[:60],
            duration_ms=int((time.monotonic() - started) * 1000),
            created_at=self._received_at,
            request_id=request_id.current(),  # at most 200 characters (core/request_id.py)
        )

    def _record(self, status_code: int, started: float, response) -> None:
        if self._recorded:
            return
        row = self._row(status_code, started, response)
        if row is None:
            return
        try:
            if connection.in_atomic_block:
                with transaction.atomic():
                    row.save(force_insert=True)
            else:
                row.save(force_insert=True)
        except Exception as exc:  # whatever it is, the bot's call has been answered already
            log.warning("could not record bot API %s (%s): %s", row.action, status_code, exc)
