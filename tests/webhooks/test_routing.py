"""Routing and idempotency of processing, without HubSpot: portal → connection → escalation.

Actor names are pre-cached, so `assignedTo` is applied without an API call; everything else here
is decided from our own rows. Tasks run eagerly once the view's transaction commits.
"""

import pytest

from connections.models import Connection, ConnectionStatus
from conversations.models import EscalationEvent, EscalationStatus, HubSpotEvent
from conversations.processing import EVENT_HANDLERS, IGNORED_EVENT_TYPES, SUPPORTED_EVENT_TYPES
from tests.factories import EscalationFactory
from tests.webhooks.conftest import cache_actor
from tests.webhooks.helpers import deliver, load_fixture

pytestmark = pytest.mark.django_db
OPEN = EscalationStatus.OPEN


@pytest.fixture
def send(client, platform_app, django_capture_on_commit_callbacks):
    def send(kind, payload):
        with django_capture_on_commit_callbacks(execute=True):
            response = deliver(client, platform_app, kind, payload)
        assert response.status_code == 200, response.content
        return response

    return send


def assigned(thread_id="9001", actor="A-1002", event_id=1, portal=20260301, at=1772366401000):
    event = load_fixture("conversation.propertyChange__assigned")[0]
    event |= {"objectId": int(thread_id), "propertyValue": actor, "eventId": event_id, "portalId": portal}
    event["occurredAt"] = at
    return event


def test_supported_types_come_from_the_dispatch_table():
    assert set(SUPPORTED_EVENT_TYPES) == set(EVENT_HANDLERS)
    assert not set(IGNORED_EVENT_TYPES) & set(EVENT_HANDLERS)
    assert "conversation.privacyDeletion" in IGNORED_EVENT_TYPES


def test_shared_platform_app_routes_each_portal_to_its_tenants_connection(
    send, platform_app, platform_connection, tenant_b
):
    # given one platform app installed in two portals, each with an escalation on thread 9001
    other = Connection.objects.create(
        tenant=tenant_b, app=platform_app, portal_id=777, status=ConnectionStatus.ACTIVE
    )
    esc_a = EscalationFactory(
        connection=platform_connection, hubspot_thread_id="9001", status=EscalationStatus.OPEN
    )
    esc_b = EscalationFactory(connection=other, hubspot_thread_id="9001", status=OPEN)
    cache_actor(platform_connection, "A-1", "Alice A")
    cache_actor(other, "A-2", "Bob B")
    # when one request carries an event of each portal
    send("app", [assigned(actor="A-1", event_id=1), assigned(actor="A-2", event_id=2, portal=777)])
    # then each tenant's escalation got its own agent, and nothing crossed over
    esc_a.refresh_from_db()
    esc_b.refresh_from_db()
    assert (esc_a.status, esc_a.agent_actor_id, esc_a.agent_name) == ("assigned", "A-1", "Alice A")
    assert (esc_b.status, esc_b.agent_actor_id, esc_b.agent_name) == ("assigned", "A-2", "Bob B")
    routed = dict(HubSpotEvent.objects.values_list("dedupe_key", "connection__tenant__slug"))
    assert routed == {"event:1": "acme", "event:2": "globex"}


def test_event_of_a_portal_without_connection_is_ignored(send, platform_connection):
    escalation = EscalationFactory(
        connection=platform_connection, hubspot_thread_id="9001", status=EscalationStatus.OPEN
    )
    send("app", [assigned(portal=999)])
    event = HubSpotEvent.objects.get()
    assert (event.status, event.result) == ("ignored", "no connection for portal 999 through this app")
    escalation.refresh_from_db()
    assert escalation.status == "open" and not EscalationEvent.objects.exists()


def test_events_for_foreign_threads_are_ignored_and_touch_nothing(send, platform_connection):
    escalation = EscalationFactory(
        connection=platform_connection, hubspot_thread_id="9001", status=EscalationStatus.OPEN
    )
    payloads = [
        assigned(thread_id="4444", event_id=1),
        load_fixture("conversation.propertyChange__closed")[0] | {"objectId": 4444, "eventId": 2},
        load_fixture("conversation.newMessage__agent_reply")[0] | {"objectId": 4444, "eventId": 3},
        load_fixture("conversation.creation__new_thread")[0] | {"objectId": 4444, "eventId": 4},
    ]
    send("app", payloads)
    message = load_fixture("OUTGOING_CHANNEL_MESSAGE_CREATED__text")
    message["message"]["conversationsThreadId"] = "4444"
    send("channel", message)
    assert set(HubSpotEvent.objects.values_list("status", "result")) == {
        ("ignored", "not an escalation thread")
    }
    assert not HubSpotEvent.objects.exclude(escalation=None).exists()
    escalation.refresh_from_db()
    assert escalation.status == "open" and not EscalationEvent.objects.exists()


def test_duplicate_delivery_gives_one_hubspot_event_and_one_bot_event(send, platform_connection):
    escalation = EscalationFactory(
        connection=platform_connection, hubspot_thread_id="9001", status=EscalationStatus.OPEN
    )
    cache_actor(platform_connection, "A-1002", "Bob Support", "bob@example.com")
    send("app", [assigned()])
    send("app", [assigned()])  # HubSpot's retry: same eventId
    send("app", [assigned() | {"eventId": 99}])  # a re-sent change under a new id
    assert HubSpotEvent.objects.filter(dedupe_key="event:1").count() == 1
    assert [e.type for e in EscalationEvent.objects.filter(escalation=escalation)] == ["escalation.assigned"]
    event = EscalationEvent.objects.get()
    assert event.data["agent"] == {"id": "A-1002", "name": "Bob Support", "email": "bob@example.com"}


def test_reassignment_and_late_older_assignment(send, platform_connection):
    escalation = EscalationFactory(
        connection=platform_connection, hubspot_thread_id="9001", status=EscalationStatus.OPEN
    )
    cache_actor(platform_connection, "A-1", "First")
    cache_actor(platform_connection, "A-2", "Second")
    send("app", [assigned(actor="A-1", event_id=1, at=1000_000)])
    send("app", [assigned(actor="A-2", event_id=2, at=3000_000)])
    send("app", [assigned(actor="A-1", event_id=3, at=2000_000)])  # older, arrives last
    escalation.refresh_from_db()
    assert escalation.agent_actor_id == "A-2"
    types = [(e.type, e.data["agent"]["id"]) for e in EscalationEvent.objects.order_by("sequence")]
    assert types == [("escalation.assigned", "A-1"), ("escalation.assigned", "A-2")]
    late = HubSpotEvent.objects.get(dedupe_key="event:3")
    assert late.status == "processed" and "changed nothing" in late.result


def test_reopen_after_close_is_recorded_and_changes_nothing(send, platform_connection):
    escalation = EscalationFactory(
        connection=platform_connection, hubspot_thread_id="9001", status=EscalationStatus.CLOSED
    )
    send("app", load_fixture("conversation.propertyChange__reopened"))
    event = HubSpotEvent.objects.get()
    assert event.status == "processed" and "stays closed" in event.result and event.escalation == escalation
    escalation.refresh_from_db()
    assert escalation.status == "closed" and not EscalationEvent.objects.exists()


def test_processing_twice_is_a_no_op(send, platform_connection):
    from conversations.tasks.webhooks import process_hubspot_events

    EscalationFactory(connection=platform_connection, hubspot_thread_id="9001", status=OPEN)
    cache_actor(platform_connection, "A-1002", "Bob Support")
    send("app", [assigned()])
    event = HubSpotEvent.objects.get()
    process_hubspot_events([event.pk])  # a redelivered task message (acks_late)
    event.refresh_from_db()
    assert event.attempts == 1 and EscalationEvent.objects.count() == 1
