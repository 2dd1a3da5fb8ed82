"""Telling HubSpot what became of an agent's message: SENT once the bot took it, FAILED when
delivery gave up.

An agent's reply through a custom channel stays "waiting for the channel to confirm" in HubSpot's
inbox until the integration reports a status. The callback to the bot is our delivery, so its
outcome is the status. Reporting is best effort: the PATCH is idempotent (the same status twice
changes nothing), and a refused or failed report is logged and leaves the bot's delivery alone,
which matters more than the badge an agent sees.

The report is made where the callback was delivered, a drain of the bot's events, with the task
transport: a 429's Retry-After or a 5xx's backoff is not slept there (the bot's next events, and
other tenants' work in the same pool process, would wait for a badge). Such a report is handed
to its own task (`jobs.REPORT_MESSAGE_STATUS`) with HubSpot's wait as the countdown, which retries
a few times with backoff and then gives up, logged. Nothing else waits on it, so it has no sweep:
a report lost with the broker leaves the badge at "waiting"; the bot has its message either way.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager

from connections.hubspot import RETRYABLE_ERRORS, HubSpotClient, HubSpotError, Transport, tokens
from connections.hubspot.countdown import task_countdown
from connections.models import Connection
from conversations.models import EscalationEvent, EventType
from core import jobs

log = logging.getLogger(__name__)

SENT = "SENT"
FAILED = "FAILED"
GAVE_UP = "The chatbot could not be reached; the message was not delivered."


_held = threading.local()


@contextmanager
def reported_after():
    """Within the block, statuses are noted and reported to HubSpot when it ends (in the order
    noted): a task delivering to several escalations sends every callback before the first PATCH,
    so no bot waits for HubSpot's badge of another one's message (14 % of the worker's time in the
    relay profile, docs/benchmarks.md). Nested blocks report with the outermost."""
    if getattr(_held, "items", None) is not None:
        yield
        return
    _held.items = []
    try:
        yield
    finally:
        items, _held.items = _held.items, None
        for event, status in items:
            try:
                report_agent_message_status(event, status)
            except Exception:  # best effort, and one failure must not keep the others back
                log.exception("escalation %s: message status %s not reported", event.escalation_id, status)


def report(event: EscalationEvent, status: str) -> None:
    """Report now, or at the end of the enclosing `reported_after` block."""
    items = getattr(_held, "items", None)
    if items is None:
        report_agent_message_status(event, status)
    else:
        items.append((event, status))


def report_agent_message_status(event: EscalationEvent, status: str) -> bool:
    """PATCH the HubSpot message behind an `escalation.message` event; True if HubSpot took it.
    A refusal worth retrying is queued for `jobs.REPORT_MESSAGE_STATUS` (module docstring)."""
    try:
        return patch_status(event, status)
    except RETRYABLE_ERRORS as exc:
        what = f"status {status} of escalation {event.escalation_id}'s event {event.pk}"
        if not jobs.enqueue(
            jobs.REPORT_MESSAGE_STATUS, str(event.pk), status, what=what, countdown=task_countdown(0, exc)
        ):
            log_not_reported(event, status, exc)
        return False
    except HubSpotError as exc:
        log_not_reported(event, status, exc)
        return False


def patch_status(event: EscalationEvent, status: str) -> bool:
    """The PATCH itself, with the task transport; False when there is nothing to report (not an
    agent's message, no custom channel). Raises what HubSpot answered otherwise. One query (the
    channel, the portal and the access token), then the call."""
    message_id = str((event.data or {}).get("message_id") or "")
    if event.type != EventType.MESSAGE or status not in (SENT, FAILED) or not message_id:
        return False
    connection_id = event.escalation.connection_id
    # The channel, the portal and the stored token in one query (ordering dropped: the model's
    # default joins the tenant to sort one row).
    row = (
        Connection.objects.filter(pk=connection_id)
        .exclude(app__custom_channel__channel_id="")
        .order_by()
        .values_list(
            "app__app_id",
            "portal_id",
            "app__custom_channel__channel_id",
            "access_token",
            "access_token_expires_at",
            "status",
        )
        .first()
    )
    if row is None or not row[2]:
        return False
    app_id, portal_id, channel_id, token, expires_at, connection_status = row

    def token_getter(connection_id: int, **options):
        # The token read with the channel, while fresh; anything else (a 401's forced refresh, an
        # expiring token, a disconnected connection) goes through the token store as always.
        if not options and tokens.is_fresh(token, expires_at, connection_status):
            return token
        return tokens.get_access_token(connection_id, **options)

    HubSpotClient(
        connection_id,
        app_id=app_id,
        portal_id=portal_id,
        token_getter=token_getter,
        transport=Transport.for_task(),
    ).update_message_status(
        channel_id, message_id, status, error_message=GAVE_UP if status == FAILED else None
    )
    return True


def log_not_reported(event: EscalationEvent, status: str, exc: Exception) -> None:
    """The one line for a status report given up (refused for good, retries spent, not queued)."""
    log.warning(
        "escalation %s: message status %s not reported for HubSpot message %s: %s",
        event.escalation_id,
        status,
        (event.data or {}).get("message_id") or "",
        exc,
    )
