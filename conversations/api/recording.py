"""Record the bot's escalation-changing calls (start, message, close) for the admin's timeline.

One INSERT after the response is built, nothing else per request: the escalation comes from the
view itself (`get_object()`, or the start's response body), the key and connection from the
authentication that already ran. Reads (detail, list, events) are not recorded: bots poll them,
and the timeline is about what changed. Refusals are recorded (a 409 after close, a 422 for an
unknown contact), with our error code, never a body, a header or the key.

Recording must never fail the bot's call: any error is logged and swallowed, inside a savepoint
when a transaction is open so the failed INSERT cannot poison it.
"""

from __future__ import annotations

import logging
import time

from django.db import connection, transaction
from django.utils import timezone

from conversations.models import BotApiRequest
from core import request_id

log = logging.getLogger(__name__)

# view action -> what the timeline calls it
RECORDED_ACTIONS = {"create": "start", "messages": "message", "close": "close"}


class RecordsBotRequests:
    """Mixin for the bot API's escalation viewset (before GenericViewSet in the bases)."""

    def dispatch(self, request, *args, **kwargs):
        started = time.monotonic()
        self._received_at = timezone.now()  # the timeline places the call when it arrived
        self._recorded_escalation = None
        try:
            response = super().dispatch(request, *args, **kwargs)
        except Exception:
            self._record(500, started, None)
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

    def _record(self, status_code: int, started: float, response) -> None:
        action = RECORDED_ACTIONS.get(getattr(self, "action", None))
        request = getattr(self, "request", None)
        key = getattr(request, "_auth", None) if request is not None else None
        if action is None or key is None:
            return  # a read, or no valid key (401): nothing of a tenant to attach it to
        if status_code == 429:
            return  # a throttled flood must not turn into a flood of INSERTs
        data = getattr(response, "data", None)
        error = data.get("error", "") if status_code >= 400 and isinstance(data, dict) else ""
        row = BotApiRequest(
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
            request_id=request_id.current(),
        )
        try:
            if connection.in_atomic_block:
                with transaction.atomic():
                    row.save(force_insert=True)
            else:
                row.save(force_insert=True)
        except Exception as exc:  # whatever it is, the bot's call has been answered already
            log.warning("could not record bot API %s (%s): %s", action, status_code, exc)
