"""Telling HubSpot what became of an agent's message: SENT once the bot took it, FAILED when
delivery gave up.

An agent's reply through a custom channel stays "waiting for the channel to confirm" in HubSpot's
inbox until the integration reports a status. The callback to the bot is our delivery, so its
outcome is the status. Reporting is best effort: the PATCH is idempotent (the same status twice
changes nothing), and a refused or failed report is logged and leaves the bot's delivery alone,
which matters more than the badge an agent sees.
"""

from __future__ import annotations

import logging

from connections.hubspot import HubSpotClient, HubSpotError
from connections.models import CustomChannel
from conversations.models import EscalationEvent, EventType

log = logging.getLogger(__name__)

SENT = "SENT"
FAILED = "FAILED"
GAVE_UP = "The chatbot could not be reached; the message was not delivered."


def report_agent_message_status(event: EscalationEvent, status: str) -> bool:
    """PATCH the HubSpot message behind an `escalation.message` event; True if HubSpot took it."""
    if event.type != EventType.MESSAGE or status not in (SENT, FAILED):
        return False
    message_id = str((event.data or {}).get("message_id") or "")
    escalation = event.escalation
    connection = escalation.connection
    channel = CustomChannel.objects.filter(app_id=connection.app_id).exclude(channel_id="").first()
    if not message_id or channel is None:
        return False
    try:
        HubSpotClient.for_connection(connection).update_message_status(
            channel.channel_id,
            message_id,
            status,
            error_message=GAVE_UP if status == FAILED else None,
        )
    except HubSpotError as exc:
        log.warning(
            "escalation %s: could not report message %s as %s to HubSpot: %s",
            escalation.pk,
            message_id,
            status,
            exc,
        )
        return False
    return True
