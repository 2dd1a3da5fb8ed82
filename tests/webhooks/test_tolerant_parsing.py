"""What real HubSpot sends that a strict reading would drop: `eventType` for `type`, a channel
event without `portalId`, and a HubSpot clock a few minutes ahead of ours."""

import pytest

from connections.models import ConnectedInbox, InboxState
from conversations.models import HubSpotEvent
from tests.webhooks.helpers import deliver, load_fixture
from tests.webhooks.test_signature import hubspot_signed, now_ms, verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(platform_connection):
    return ConnectedInbox.objects.create(
        connection=platform_connection,
        inbox_id=3001,
        channel_account_id="2001",
        delivery_identifier="hitl-x",
        state=InboxState.ACTIVE,
    )


def send_channel(client, app, payload, capture):
    with capture(execute=True):
        response = deliver(client, app, "channel", payload)
    assert response.status_code == 200, response.content
    return HubSpotEvent.objects.get()


def test_event_type_alias_and_routing_by_channel_account_without_portal_id(
    client, platform_app, inbox, django_capture_on_commit_callbacks
):
    payload = load_fixture("CHANNEL_ACCOUNT_UPDATED__unauthorized")
    payload["eventType"] = payload.pop("type")
    del payload["portalId"]

    event = send_channel(client, platform_app, payload, django_capture_on_commit_callbacks)

    assert event.event_type == "CHANNEL_ACCOUNT_UPDATED"
    assert event.connection_id == inbox.connection_id
    assert event.status == "processed", event.result
    inbox.refresh_from_db()
    assert inbox.state == InboxState.FAILED


def test_unknown_channel_account_without_portal_id_is_ignored(
    client, platform_app, inbox, django_capture_on_commit_callbacks
):
    payload = load_fixture("CHANNEL_ACCOUNT_UPDATED__unauthorized") | {"channelAccountId": "9999"}
    del payload["portalId"]

    event = send_channel(client, platform_app, payload, django_capture_on_commit_callbacks)

    assert event.status == "ignored" and event.connection_id is None
    inbox.refresh_from_db()
    assert inbox.state == InboxState.ACTIVE


def test_body_without_type_or_event_type_is_400(client, platform_app):
    payload = load_fixture("CHANNEL_ACCOUNT_UPDATED__unauthorized")
    del payload["type"]
    assert deliver(client, platform_app, "channel", payload).status_code == 400


@pytest.mark.parametrize("ahead_ms", [60_000 + 1000, 4 * 60_000, 5 * 60_000 - 1000])
def test_a_hubspot_clock_up_to_five_minutes_ahead_is_accepted(ahead_ms):
    now = now_ms()
    signature, ts = hubspot_signed(ts=now + ahead_ms)
    verify(signature, ts, now=now)  # does not raise
