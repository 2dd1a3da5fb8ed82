"""End to end with the sandbox HubSpot sending real, signed webhooks.

Agent actions go through the sandbox console services; the sandbox signs and POSTs its webhooks
(app subscriptions set up by `ensure_app_webhooks`, the custom channel registered by the real
registration) to our endpoints on live_server; processing runs eagerly and calls the sandbox API.

The reordering tests hold the sandbox's deliveries back (its `dispatch` patched), then post the
very bodies it produced, event by event, in the orders under test.
"""

import json
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from connections.webhook_setup import ensure_app_webhooks
from conversations.models import HubSpotEvent
from sandbox import webhooks
from sandbox.console import actions
from sandbox.models import SandboxBehaviour, SandboxWebhookDelivery
from tests.webhooks.helpers import bot_events, deliver

TO_AGENT = 0  # the scenario escalates with no transcript (the intro is not counted)
ALICE = {"id": "A-1001", "name": "Alice Agent", "email": "alice.agent@demo-company.example"}
EXPECTED = [
    ("escalation.assigned", {"agent": ALICE, "previous_agent_id": None}),
    (
        "escalation.message",
        {"text": "On it", "attachments": [], "agent": {"id": "A-1001", "name": "Alice Agent"}},
    ),
    (
        "escalation.closed",
        {
            "reason": "agent_closed",
            "agent": ALICE,
            "closed_by": {"kind": "agent", "id": "A-1001", "name": "Alice Agent"},
            "message_counts": {"to_agent": TO_AGENT, "to_user": 1},
            "last_agent_message": "On it",
        },
    ),
]


@pytest.fixture
def wired(world):
    result = ensure_app_webhooks(world.app)
    assert result["ok"], result
    return world


def behaviour(**fields):
    SandboxBehaviour.objects.update_or_create(pk=1, defaults=fields)


def held_back_scenario(w):
    """Assign, reply, close in the sandbox; return the escalation and its webhooks, undelivered,
    one (kind, body) per event in the order HubSpot emitted them."""
    first = SandboxWebhookDelivery.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    with mock.patch("sandbox.webhooks.dispatch"):
        escalation, thread, _ = w.escalate()
        agent = w.agent("A-1001")
        actions.assign(thread, agent)
        w.reply(thread, "On it")
        actions.set_status(thread, "CLOSED", agent)
    hooks = []
    for delivery in SandboxWebhookDelivery.objects.filter(pk__gt=first).order_by("pk"):
        if delivery.kind == "app":
            hooks += [("app", [event]) for event in delivery.body]
        else:
            hooks.append(("channel", delivery.body))
    return escalation, hooks


def label(webhook):
    kind, body = webhook
    if kind == "channel":
        return body["type"]
    event = body[0]
    return f"{event['subscriptionType']}:{event.get('propertyName', '')}"


ORDERS = {
    "as_emitted": lambda hooks: hooks,
    "reversed_closed_first": lambda hooks: list(reversed(hooks)),
    "message_before_assigned": lambda hooks: sorted(
        hooks, key=lambda h: label(h) != "OUTGOING_CHANNEL_MESSAGE_CREATED"
    ),
    "closed_before_assigned": lambda hooks: sorted(
        hooks, key=lambda h: label(h) != "conversation.propertyChange:status"
    ),
    "everything_twice_shuffled": lambda hooks: [*hooks[::2], *reversed(hooks), *hooks[1::2]],
}


@pytest.mark.parametrize("order", list(ORDERS))
def test_reordered_and_duplicated_deliveries_give_the_same_events(wired, client, order):
    escalation, hooks = held_back_scenario(wired)
    labels = [label(h) for h in hooks]
    assert "conversation.propertyChange:assignedTo" in labels and "OUTGOING_CHANNEL_MESSAGE_CREATED" in labels
    for kind, body in ORDERS[order](hooks):
        assert deliver(client, wired.app, kind, body).status_code == 200
    escalation.refresh_from_db()
    assert (escalation.status, escalation.close_reason, escalation.agent_actor_id) == (
        "closed",
        "agent_closed",
        "A-1001",
    )
    assert bot_events(escalation) == EXPECTED
    assert escalation.messages.filter(role="agent").count() == 1
    assert not HubSpotEvent.objects.filter(status__in=["pending", "failed"]).exists()


def test_sandbox_delivers_signed_webhooks_end_to_end(wired):
    # given an open escalation on a thread of our custom channel
    escalation, thread, _ = wired.escalate()
    agent = wired.agent("A-1001")
    # when the agent takes it, replies with a file and closes it in the (sandbox) inbox
    actions.assign(thread, agent)
    upload = SimpleUploadedFile("photo.png", b"\x89PNG fake", content_type="image/png")
    reply = wired.reply(thread, "See attached", upload=upload)
    actions.set_status(thread, "CLOSED", agent)
    # then the sandbox's webhooks reached us, signed, and the bot's events are in order
    deliveries = SandboxWebhookDelivery.objects.all()
    assert deliveries.exists() and set(deliveries.values_list("status", flat=True)) == {"delivered"}
    escalation.refresh_from_db()
    assert (escalation.status, escalation.agent_name) == ("closed", "Alice Agent")
    events = bot_events(escalation)
    assert [t for t, _ in events] == ["escalation.assigned", "escalation.message", "escalation.closed"]
    assert events[1][1]["attachments"] == [
        {"type": "file", "name": "photo.png", "content_type": "image/png", "size": 9}
    ]
    message = escalation.messages.get(role="agent")
    assert message.hubspot_message_id == reply.message_id
    # both paths (channel webhook and conversation.newMessage) arrived and met on one message
    kinds = set(HubSpotEvent.objects.filter(escalation=escalation).values_list("event_type", flat=True))
    assert {"OUTGOING_CHANNEL_MESSAGE_CREATED", "conversation.newMessage"} <= kinds
    assert not HubSpotEvent.objects.filter(status__in=["pending", "failed"]).exists()


def test_sandbox_duplicating_and_reordering_deliveries_changes_nothing(wired):
    # given the sandbox sends every webhook twice and each batch in reverse order
    behaviour(duplicate_deliveries=True, reorder_deliveries=True)
    escalation, thread, _ = wired.escalate()
    agent = wired.agent("A-1001")
    # when assignment, reply and close happen in one transaction (one batch, reversed on sending)
    with mock.patch("sandbox.webhooks.dispatch") as held, transaction.atomic():
        actions.assign(thread, agent)
        wired.reply(thread, "On it")
        actions.set_status(thread, "CLOSED", agent)
    webhooks.dispatch([i for call in held.call_args_list for i in call.args[0]])
    # then the bot's events are exactly those of the orderly run
    escalation.refresh_from_db()
    assert bot_events(escalation) == EXPECTED
    assert set(SandboxWebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}
    assert HubSpotEvent.objects.filter(dedupe_key__startswith="message:").count() == 1


def test_hubspot_outage_is_retried_and_recorded(wired, client, settings):
    escalation, hooks = held_back_scenario(wired)
    closed = next(h for h in hooks if label(h) == "conversation.propertyChange:status")
    # HubSpot answers 503 to more calls than the client retries itself: the task must retry
    behaviour(
        fail_next_requests=settings.HUBSPOT_MAX_RETRIES + 2, fail_status=503, fail_path_contains="threads"
    )
    assert deliver(client, wired.app, *closed).status_code == 200
    event = HubSpotEvent.objects.get(dedupe_key=f"event:{closed[1][0]['eventId']}")
    assert event.status == "processed" and event.attempts >= 2, (event.attempts, event.result)
    escalation.refresh_from_db()
    assert bot_events(escalation) == EXPECTED
    assert json.dumps(event.payload)  # stored as received
