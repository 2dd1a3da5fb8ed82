"""One test per payload fixture (`tests/fixtures/hubspot_webhooks/<event>__<variant>.json`).

Each payload is loaded through `load_fixture` (a deep copy), pointed at a real sandbox thread,
signed with HubSpot's helper and posted; processing runs eagerly and calls the sandbox HubSpot over
HTTP (live_server) for actors, threads, messages and signed file URLs. The sandbox's own webhooks
are off here (no app subscriptions, channel muted): each test delivers exactly what it names.
"""

from pathlib import Path

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile

from connections.models import ConnectedInbox
from conversations.models import EscalationEvent, EscalationStatus, HubSpotEvent
from sandbox.console import actions
from tests.factories import MessageFactory
from tests.webhooks.helpers import bot_events, deliver, fixture_names, load_fixture

ALICE = {"id": "A-1001", "name": "Alice Agent", "email": "alice.agent@demo-company.example"}
BOB = {"id": "A-1002", "name": "Bob Support", "email": "bob.support@demo-company.example"}


@pytest.fixture
def w(world):
    world.mute_channel()
    return world


@pytest.fixture
def send(client):
    def send(world, kind, payload):
        response = deliver(client, world.app, kind, payload)
        assert response.status_code == 200, response.content
        return HubSpotEvent.objects.order_by("-pk").first()

    return send


def app_event(name, thread, **changes):
    events = load_fixture(name)
    for event in events:
        event |= {"objectId": thread.pk, "portalId": thread.portal.portal_id} | changes
    return events


def channel_message(name, world, escalation, message):
    payload = load_fixture(name)
    payload |= {
        "portalId": str(world.seed["portal_id"]),
        "channelId": str(world.channel.pk),
        "channelAccountId": str(world.account.pk),
        "channelIntegrationThreadIds": [str(escalation.integration_thread_id)],
    }
    payload["message"] |= {"id": message.message_id, "conversationsThreadId": str(message.thread_id)}
    return payload


def test_every_fixture_has_a_test():
    tested = {n.split("__")[0] for n in fixture_names()}
    assert "conversation.propertyChange" in tested and "OUTGOING_CHANNEL_MESSAGE_CREATED" in tested
    source = Path(__file__).read_text()
    assert [n for n in fixture_names() if f'"{n}"' not in source] == []


# conversation.creation ----------------------------------------------------------------------------


def test_creation__new_thread_maps_a_requested_escalation(w, send):
    escalation, thread, message = w.escalate(status=EscalationStatus.REQUESTED, map_thread=False)
    MessageFactory(
        escalation=escalation,
        position=1,
        role="intro",
        text=message.text,
        sent_at=message.created_at,
        hubspot_message_id=message.message_id,
    )
    event = send(w, "app", app_event("conversation.creation__new_thread", thread))
    escalation.refresh_from_db()
    assert (escalation.status, escalation.hubspot_thread_id) == ("open", str(thread.pk))
    assert event.status == "processed" and event.escalation == escalation
    assert [t for t, _ in bot_events(escalation)] == ["escalation.opened"]


def test_creation__new_thread_already_mapped_changes_nothing(w, send):
    _escalation, thread, _ = w.escalate()
    event = send(w, "app", app_event("conversation.creation__new_thread", thread))
    assert event.status == "processed" and "already open" in event.result
    assert not EscalationEvent.objects.exists()


# conversation.propertyChange ----------------------------------------------------------------------


def test_property_change__assigned_looks_up_the_agent(w, send):
    escalation, thread, _ = w.escalate()
    event = send(w, "app", app_event("conversation.propertyChange__assigned", thread))
    escalation.refresh_from_db()
    assert escalation.status == "assigned"
    assert (escalation.agent_actor_id, escalation.agent_name, escalation.agent_email) == (
        BOB["id"],
        BOB["name"],
        BOB["email"],
    )
    assert bot_events(escalation) == [("escalation.assigned", {"agent": BOB, "previous_agent_id": None})]
    assert event.result == "assigned to A-1002"


def test_property_change__unassigned_puts_it_back_in_the_queue(w, send):
    escalation, thread, _ = w.escalate()
    send(w, "app", app_event("conversation.propertyChange__assigned", thread, occurredAt=1772366401000))
    event = send(
        w, "app", app_event("conversation.propertyChange__unassigned", thread, occurredAt=1772366402000)
    )
    escalation.refresh_from_db()
    assert (escalation.status, escalation.agent_actor_id) == ("open", "")
    assert [t for t, _ in bot_events(escalation)] == ["escalation.assigned"]
    assert event.result == "unassigned"


def test_property_change__closed_reconciles_assignee_and_replies_first(w, send):
    escalation, thread, _ = w.escalate()
    actions.assign(thread, w.agent("A-1001"))
    w.reply(thread, "Refund is on its way.")
    # the assignedTo and the reply's webhooks have not arrived: closed overtook them
    event = send(w, "app", app_event("conversation.propertyChange__closed", thread, occurredAt=_later()))
    escalation.refresh_from_db()
    assert (escalation.status, escalation.close_reason) == ("closed", "agent_closed")
    assert [t for t, _ in bot_events(escalation)] == [
        "escalation.assigned",
        "escalation.message",
        "escalation.closed",
    ]
    assert bot_events(escalation)[1][1]["text"] == "Refund is on its way."
    assert "1 agent message(s) recorded before closing" in event.result


def test_property_change__reopened_after_close_keeps_it_closed(w, send):
    escalation, thread, _ = w.escalate()
    send(w, "app", app_event("conversation.propertyChange__closed", thread, occurredAt=_later()))
    event = send(w, "app", app_event("conversation.propertyChange__reopened", thread, occurredAt=_later(5)))
    escalation.refresh_from_db()
    assert escalation.status == "closed"
    assert "closed" in event.result and "terminal" in event.result
    assert [t for t, _ in bot_events(escalation)] == ["escalation.closed"]


def test_property_change__archived_closes_as_archived(w, send):
    escalation, thread, _ = w.escalate()
    send(w, "app", app_event("conversation.propertyChange__archived", thread, occurredAt=_later()))
    escalation.refresh_from_db()
    assert (escalation.status, escalation.close_reason) == ("closed", "archived")
    assert bot_events(escalation) == [
        (
            "escalation.closed",
            {
                "reason": "archived",
                "agent": None,
                # Archived in HubSpot: the agent side closed it, nobody was assigned.
                "closed_by": {"kind": "agent", "id": None, "name": None},
                "message_counts": {"to_agent": 0, "to_user": 0},
                "last_agent_message": None,
            },
        )
    ]


def test_deletion__archived_closes_as_archived(w, send):
    escalation, thread, _ = w.escalate()
    send(w, "app", app_event("conversation.deletion__archived", thread, occurredAt=_later()))
    escalation.refresh_from_db()
    assert (escalation.status, escalation.close_reason) == ("closed", "archived")


# conversation.newMessage --------------------------------------------------------------------------


def test_new_message__agent_reply_fetches_and_records_it_after_the_assignee(w, send):
    escalation, thread, incoming = w.escalate()
    actions.assign(thread, w.agent("A-1002"))
    reply = w.reply(thread, "Hello Ada", agent="A-1002")
    event = send(
        w, "app", app_event("conversation.newMessage__agent_reply", thread, messageId=reply.message_id)
    )
    assert event.status == "processed" and event.result.startswith("agent message recorded")
    assert [t for t, _ in bot_events(escalation)] == ["escalation.assigned", "escalation.message"]
    message = escalation.messages.get(hubspot_message_id=reply.message_id)
    assert (message.text, message.agent_actor_id, message.direction) == ("Hello Ada", "A-1002", "to_bot")
    # our own published (INCOMING) message is not relayed back to the bot
    own = send(
        w,
        "app",
        app_event("conversation.newMessage__agent_reply", thread, messageId=incoming.message_id, eventId=2),
    )
    assert own.status == "ignored" and own.result == "not an agent's message"


def test_new_message_and_channel_message_converge_on_one_message(w, send):
    escalation, thread, _ = w.escalate()
    actions.assign(thread, w.agent("A-1001"))
    reply = w.reply(thread, "Hello Ada")
    send(w, "channel", channel_message("OUTGOING_CHANNEL_MESSAGE_CREATED__text", w, escalation, reply))
    event = send(
        w, "app", app_event("conversation.newMessage__agent_reply", thread, messageId=reply.message_id)
    )
    assert event.result == "message already recorded"
    assert escalation.messages.filter(hubspot_message_id=reply.message_id).count() == 1
    assert [t for t, _ in bot_events(escalation)] == ["escalation.assigned", "escalation.message"]


# Ignored and unsupported --------------------------------------------------------------------------


def test_privacy_deletion__contact_is_ignored_with_a_reason(w, send):
    _escalation, thread, _ = w.escalate()
    event = send(w, "app", app_event("conversation.privacyDeletion__contact", thread))
    assert event.status == "ignored" and "HubSpot erases" in event.result
    assert not EscalationEvent.objects.exists()


def test_unsubscribed_type__contact_creation_is_ignored_as_unsupported(w, send):
    event = send(w, "app", load_fixture("contact.creation__unsubscribed_type"))
    assert (event.status, event.result) == ("ignored", "unsupported event type 'contact.creation'")


# OUTGOING_CHANNEL_MESSAGE_CREATED -----------------------------------------------------------------


def test_outgoing_message__text_is_relayed_with_the_agent(w, send):
    escalation, thread, _ = w.escalate()
    actions.assign(thread, w.agent("A-1001"))
    reply = w.reply(thread, "Hello Ada, I'm looking into it.")
    payload = channel_message("OUTGOING_CHANNEL_MESSAGE_CREATED__text", w, escalation, reply)
    event = send(w, "channel", payload)
    assert event.dedupe_key == f"message:{reply.message_id}" and event.status == "processed"
    assert bot_events(escalation) == [
        ("escalation.assigned", {"agent": ALICE, "previous_agent_id": None}),
        (
            "escalation.message",
            {
                "text": "Hello Ada, I'm looking into it.",
                "attachments": [],
                "agent": {"id": "A-1001", "name": "Alice Agent"},
            },
        ),
    ]


def test_outgoing_message__text_finds_the_escalation_by_integration_thread_id(w, send):
    escalation, thread, _ = w.escalate(status=EscalationStatus.REQUESTED, map_thread=False)
    reply = w.reply(thread, "Hi")  # nobody assigned in HubSpot yet
    send(w, "channel", channel_message("OUTGOING_CHANNEL_MESSAGE_CREATED__text", w, escalation, reply))
    escalation.refresh_from_db()
    assert escalation.hubspot_thread_id == str(thread.pk)
    assert [t for t, _ in bot_events(escalation)] == ["escalation.opened", "escalation.message"]


def test_outgoing_message__file_attachment_becomes_a_fetchable_url(w, send):
    escalation, thread, _ = w.escalate()
    actions.assign(thread, w.agent("A-1001"))
    upload = SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 invoice", content_type="application/pdf")
    reply = w.reply(thread, "Here is the invoice.", upload=upload)
    payload = channel_message("OUTGOING_CHANNEL_MESSAGE_CREATED__file_attachment", w, escalation, reply)
    payload["message"]["attachments"] = [
        dict(payload["message"]["attachments"][0], fileId=reply.attachments[0]["fileId"])
    ]
    send(w, "channel", payload)
    (attachment,) = escalation.messages.get(hubspot_message_id=reply.message_id).attachments
    assert attachment["type"] == "file" and attachment["name"] == "invoice.pdf"
    assert attachment["content_type"] == "application/pdf" and attachment["size"] == 16
    assert attachment["hubspot_file_id"] == reply.attachments[0]["fileId"]
    assert requests.get(attachment["url"], timeout=5).content == b"%PDF-1.4 invoice"


# Channel accounts ---------------------------------------------------------------------------------


def _account_event(name, w):
    return load_fixture(name) | {"portalId": str(w.seed["portal_id"]), "channelAccountId": str(w.account.pk)}


def test_channel_account_updated__unauthorized_records_a_problem(w, send):
    event = send(w, "channel", _account_event("CHANNEL_ACCOUNT_UPDATED__unauthorized", w))
    inbox = ConnectedInbox.objects.get(connection=w.connection)
    assert inbox.state == "failed" and "not authorized" in inbox.last_error
    assert event.status == "processed"


def test_channel_account_purged__account_marks_the_inbox_removed(w, send):
    send(w, "channel", _account_event("CHANNEL_ACCOUNT_PURGED__account", w))
    inbox = ConnectedInbox.objects.get(connection=w.connection)
    assert inbox.state == "removed" and "connect the inbox again" in inbox.last_error


def test_channel_account_created__account_of_ours_changes_nothing(w, send):
    before = ConnectedInbox.objects.get(connection=w.connection).state
    event = send(w, "channel", _account_event("CHANNEL_ACCOUNT_CREATED__account", w))
    assert ConnectedInbox.objects.get(connection=w.connection).state == before
    assert event.status == "processed" and "unchanged" in event.result
    # Another channel account of the channel: not a fixed id, which is ours when the account is the
    # first one in the database (pk 1)
    not_ours = str(w.account.pk + 1)
    payload = _account_event("CHANNEL_ACCOUNT_CREATED__account", w)
    payload |= {"channelAccountId": not_ours, "eventId": "x"}
    other = send(w, "channel", payload)
    assert (other.status, other.result) == ("ignored", "not one of our channel accounts")


def _later(seconds: int = 0) -> int:
    """An occurredAt (ms) after everything the test did in the sandbox."""
    import time

    return int(time.time() * 1000) + 1000 + seconds * 1000
