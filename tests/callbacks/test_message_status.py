"""After the bot took an agent's message, HubSpot hears SENT; when delivery gave up, FAILED."""

import datetime as dt
import json
from unittest import mock

import pytest
import responses
from celery.exceptions import Retry
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from connections.models import CustomChannel
from conversations import delivery, events, message_status
from conversations.models import EventType
from conversations.tasks import message_status as status_tasks
from core import jobs
from tests.factories import EscalationFactory
from tests.jobs import captured_jobs

pytestmark = pytest.mark.usefixtures("secret")

API = "https://api.hubspot.test"
PATCH_URL = f"{API}/conversations/custom-channels/2026-03/1001/messages/hs-msg-1"
RATE_LIMITED = {
    "status": "error",
    "message": "You have reached your ten_secondly_rolling limit.",
    "category": "RATE_LIMITS",
}


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


def test_a_rate_limited_report_is_queued_with_hubspots_wait_not_slept_in_the_drain(
    connection, receiver, hubspot_api
):
    """A 429 on the SENT report: the drain neither sleeps out the Retry-After nor tries again (the
    bot's next events would wait for a badge); the report goes to its own task, counting down
    HubSpot's wait."""
    hubspot_api.replace(
        responses.PATCH, PATCH_URL, json=RATE_LIMITED, status=429, headers={"Retry-After": "7"}
    )
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    event = agent_message(escalation)

    with captured_jobs(as_worker=True) as sent:
        run = delivery.deliver_pending(escalation.pk)

    assert run.delivered == [1]
    assert len(patches(hubspot_api)) == 1
    [job] = [job for job in sent if job.name == jobs.REPORT_MESSAGE_STATUS]
    assert job.args == (str(event.pk), message_status.SENT)
    assert job.countdown == 7


def test_a_report_refused_for_good_is_not_retried(connection, receiver, hubspot_api):
    hubspot_api.replace(
        responses.PATCH,
        PATCH_URL,
        json={"status": "error", "message": "no", "category": "VALIDATION_ERROR"},
        status=400,
    )
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    agent_message(escalation)

    with captured_jobs(as_worker=True) as sent:
        delivery.deliver_pending(escalation.pk)

    assert [job for job in sent if job.name == jobs.REPORT_MESSAGE_STATUS] == []


def test_the_report_task_sends_the_status_once_hubspot_takes_it(connection, receiver, hubspot_api):
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    event = agent_message(escalation)

    assert status_tasks.report_message_status(str(event.pk), message_status.SENT) is True
    assert patches(hubspot_api) == [{"statusType": "SENT"}]


def test_the_report_task_backs_off_while_hubspot_fails_then_gives_up(
    connection, receiver, hubspot_api, caplog
):
    hubspot_api.replace(responses.PATCH, PATCH_URL, json={"message": "down"}, status=500)
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    event = agent_message(escalation)
    task = status_tasks.report_message_status

    countdowns = []
    with mock.patch.object(task, "retry", side_effect=Retry()) as retry:
        for retries in range(task.max_retries):
            task.push_request(retries=retries, is_eager=False)
            try:
                with pytest.raises(Retry):
                    task(str(event.pk), message_status.SENT)
            finally:
                task.pop_request()
            countdowns.append(retry.call_args.kwargs["countdown"])
        task.push_request(retries=task.max_retries, is_eager=False)
        try:
            assert task(str(event.pk), message_status.SENT) is False
        finally:
            task.pop_request()

    assert countdowns == [2, 4, 8, 16, 32]
    assert "message status SENT not reported" in caplog.text


def test_the_report_task_of_a_deleted_event_does_nothing(connection, receiver, hubspot_api):
    escalation = EscalationFactory(connection=connection, callback_url=receiver.url)
    event = agent_message(escalation)
    event_id = str(event.pk)
    event.delete()

    assert status_tasks.report_message_status(event_id, message_status.SENT) is False
    assert patches(hubspot_api) == []
