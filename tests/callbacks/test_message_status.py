"""After the bot took an agent's message, HubSpot hears SENT; when delivery gave up, FAILED."""

import datetime as dt
import json

import pytest
import responses
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from connections.models import CustomChannel
from conversations import delivery, events, message_status
from conversations.models import EventType
from tests.factories import EscalationFactory

pytestmark = pytest.mark.usefixtures("secret")

API = "https://api.hubspot.test"


@pytest.fixture
def hubspot_api(settings, connection, receiver):
    settings.HUBSPOT_API_BASE = API
    settings.HUBSPOT_API_VERSION = "2026-03"
    CustomChannel.objects.create(app=connection.app, channel_id="1001", webhook_url="https://portal.test/x")
    connection.access_token = "at-token"
    connection.refresh_token = "rt-token"
    connection.access_token_expires_at = timezone.now() + dt.timedelta(hours=1)
    connection.save()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru("http://127.0.0.1")
        rsps.add(
            responses.PATCH,
            f"{API}/conversations/custom-channels/2026-03/1001/messages/hs-msg-1",
            json={},
        )
        yield rsps


def agent_message(escalation):
    return events.emit(
        escalation,
        EventType.MESSAGE,
        {"message_id": "hs-msg-1", "text": "Hello from Alice", "attachments": [], "agent": {"id": "A-1"}},
        dedupe_key="message:hs-msg-1",
    )


def patches(rsps):
    return [json.loads(c.request.body) for c in rsps.calls if c.request.method == "PATCH"]


def test_a_delivered_agent_message_is_reported_sent(connection, receiver, hubspot_api):
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    agent_message(escalation)

    delivery.deliver_pending(escalation.pk)

    assert receiver.sequences() == [1]
    assert patches(hubspot_api) == [{"statusType": "SENT"}]


def test_an_agent_message_given_up_is_reported_failed(connection, receiver, hubspot_api):
    receiver.fail_sequence(1, times=100, status=500)
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    event = agent_message(escalation)
    type(event).objects.filter(pk=event.pk).update(attempts=6)

    delivery.deliver_pending(escalation.pk, now=lambda: timezone.now() + dt.timedelta(hours=25))

    (body,) = patches(hubspot_api)
    assert body["statusType"] == "FAILED" and body["errorMessage"]


def test_a_failed_attempt_that_will_be_retried_reports_nothing(connection, receiver, hubspot_api):
    receiver.fail_sequence(1, times=1, status=500)
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    agent_message(escalation)

    delivery.deliver_pending(escalation.pk)

    assert patches(hubspot_api) == []


def test_a_refused_report_does_not_disturb_delivery(connection, receiver, hubspot_api):
    hubspot_api.replace(
        responses.PATCH,
        f"{API}/conversations/custom-channels/2026-03/1001/messages/hs-msg-1",
        json={"status": "error", "message": "nope", "category": "VALIDATION_ERROR"},
        status=400,
    )
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    agent_message(escalation)

    run = delivery.deliver_pending(escalation.pk)

    assert run.delivered == [1]
    assert escalation.events.get().delivery_status == "delivered"


def test_the_report_reads_its_channel_and_token_in_one_query(connection, receiver, hubspot_api):
    """Per relayed reply: one query for the channel, the portal and the access token (was two: the
    channel, then the token store's read of the same row)."""
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    event = agent_message(escalation)
    assert event.escalation.connection_id == connection.pk  # delivery hands the report its escalation

    with CaptureQueriesContext(db) as queries:
        assert message_status.report_agent_message_status(event, message_status.SENT)

    assert len(queries.captured_queries) == 1, [q["sql"] for q in queries.captured_queries]
    [call] = [c for c in hubspot_api.calls if c.request.method == "PATCH"]
    assert call.request.headers["Authorization"] == "Bearer at-token"


def test_a_report_with_a_token_about_to_expire_refreshes_it_first(connection, receiver, hubspot_api):
    connection.access_token_expires_at = timezone.now() + dt.timedelta(seconds=5)
    connection.save()
    hubspot_api.add(
        responses.POST,
        f"{API}/oauth/2026-03/token",
        json={"access_token": "at-new", "refresh_token": "rt-token", "expires_in": 1800},
    )
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    event = agent_message(escalation)

    assert message_status.report_agent_message_status(event, message_status.SENT)

    [call] = [c for c in hubspot_api.calls if c.request.method == "PATCH"]
    assert call.request.headers["Authorization"] == "Bearer at-new"
