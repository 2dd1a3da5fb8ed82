"""Event envelopes produced by the portal's own code, for docs/bot-api.md's examples.

`generate()` drives one escalation through the real lifecycle functions (opened, assigned, an agent
message with a file, closed), another to failed and a third past an SLA threshold, then returns
each event's envelope as the bot receives it, plus a ping. The doc test prints the generated
envelope when an example no longer matches, ready to paste.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from connections.models import Connection, ConnectionStatus, SlaKind, SlaThreshold
from conversations import lifecycle, ping, queue_updates, watchdogs
from conversations.models import CloseReason, Escalation, EscalationEvent, FailureReason
from tests.factories import HubSpotAppFactory, InboxFactory, TenantFactory

AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def generate() -> dict[str, dict]:
    app = HubSpotAppFactory(tenant=TenantFactory())
    connection = Connection.objects.create(
        tenant=app.tenant, app=app, portal_id=20260301, status=ConnectionStatus.ACTIVE
    )
    inbox = InboxFactory(connection=connection, inbox_id=90000101)
    esc = Escalation.objects.create(
        connection=connection,
        inbox=inbox,
        conversation_id="chat-8812",
        user_name="Ada Lovelace",
        user_phone="+447700900001",
        title="Order #1042 never arrived",
    )
    lifecycle.mark_open(esc, thread_id="7301948561", at=AT)
    # A second user waits behind the first; the first's assignment moves them up.
    waiting = Escalation.objects.create(
        connection=connection,
        inbox=inbox,
        conversation_id="chat-8814",
        user_name="Alan Turing",
        user_phone="+447700900002",
        title="Where is my refund?",
    )
    lifecycle.mark_open(waiting, thread_id="7301948562", at=AT)
    lifecycle.mark_assigned(esc, actor_id="A-1001", name="Alice Agent", email="alice@example.com", at=AT)
    Escalation.objects.filter(pk=waiting.pk).update(queue_sent_at=AT)  # the rate bound has passed
    queue_updates.refresh(waiting.pk)
    attachment = {
        "type": "file",
        "name": "label.png",
        "content_type": "image/png",
        "size": 1234,
        "url": "https://files.example.com/signed/label.png?Expires=1772447400",
        "expires_at": "2026-03-02T10:30:00Z",
        "hubspot_file_id": "184467440",
    }
    lifecycle.record_agent_message(
        esc,
        hubspot_message_id="ab12cd34-5e6f",
        text="Hi Ada, I'm sending a replacement today. Here is the label.",
        attachments=[attachment],
        actor_id="A-1001",
        agent_name="Alice Agent",
        at=AT + dt.timedelta(minutes=2),
    )
    lifecycle.mark_closed(esc, reason=CloseReason.AGENT_CLOSED, at=AT + dt.timedelta(minutes=9))
    failing = Escalation.objects.create(
        connection=connection,
        conversation_id="chat-8813",
        user_name="Grace Hopper",
        user_email="grace@example.com",
        title="Billing question",
    )
    lifecycle.mark_failed(
        failing,
        reason=FailureReason.NO_AGENT,
        message="No agent took the conversation within 15 minutes.",
        at=AT + dt.timedelta(minutes=15),
    )
    threshold = SlaThreshold.objects.create(connection=connection, kind=SlaKind.UNASSIGNED, minutes=10)
    with transaction.atomic():
        watchdogs.record_breach(
            waiting, threshold, since=AT, elapsed_seconds=660, at=AT + dt.timedelta(minutes=11)
        )
    envelopes = {
        event.type: event.envelope()
        for event in EscalationEvent.objects.select_related("escalation").order_by(
            "escalation__created_at", "sequence"
        )
    }
    envelopes["ping"] = ping.envelope(connection)
    return envelopes
