"""Integration with sandbox/webhooks.py (owned by the webhook sender, not by the API).

These use the real module, not mocks: an API publish and thread PATCH must leave exactly the
delivery rows HubSpot's webhooks would carry. Sending is not exercised (on-commit callbacks are
captured, not executed), so no network is involved.
"""

from __future__ import annotations

import pytest

from sandbox.models import SandboxSubscription, SandboxWebhookDelivery, SandboxWebhookSettings

V3 = "/conversations/v3/custom-channels"


@pytest.fixture
def subscribed(portal):
    app = portal.app
    SandboxWebhookSettings.objects.create(app=app, target_url="https://portal.example/hooks")
    for event_type, prop in [
        ("conversation.creation", ""),
        ("conversation.newMessage", ""),
        ("conversation.propertyChange", "status"),
    ]:
        SandboxSubscription.objects.create(app=app, event_type=event_type, property_name=prop)
    return app


BOT = {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": "bot-1"}


def test_publish_and_close_produce_hubspot_events(
    api, portal, channel, account, subscribed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        message = api.post(
            f"{V3}/{channel.pk}/messages",
            {
                "channelAccountId": str(account.pk),
                "messageDirection": "INCOMING",
                "text": "hi",
                "timestamp": "2026-03-01T12:00:00Z",
                "attachments": [],
                "senders": [{"deliveryIdentifier": {"type": "HS_EMAIL_ADDRESS", "value": "ada@example.com"}}],
                "recipients": [
                    {"deliveryIdentifier": {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": "bot-1"}}
                ],
                "integrationThreadId": "t",
            },
            **portal.bearer(),
        ).json()
        thread_id = int(message["conversationsThreadId"])
        api.patch(
            f"/conversations/v3/conversations/threads/{thread_id}", {"status": "CLOSED"}, **portal.bearer()
        )

    events = [e for d in SandboxWebhookDelivery.objects.filter(kind="app").order_by("id") for e in d.body]
    assert [e["subscriptionType"] for e in events] == [
        "conversation.creation",
        "conversation.newMessage",
        "conversation.propertyChange",
    ]
    assert {e["objectId"] for e in events} == {thread_id}
    assert {e["portalId"] for e in events} == {portal.seed["portal_id"]}
    assert events[1]["messageId"] == message["id"]
    assert (events[2]["propertyName"], events[2]["propertyValue"]) == ("status", "CLOSED")
    assert SandboxWebhookDelivery.objects.filter(kind="channel").count() == 0  # INTEGRATION messages only
