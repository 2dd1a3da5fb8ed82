"""An escalation's page (transcript, timeline) and its actions: admins act, support leads only
look (no buttons, 403 by URL, nothing changes), another tenant's escalation is a 404."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from conversations.models import (
    BotApiRequest,
    CallbackAttempt,
    CloseReason,
    DeliveryStatus,
    Escalation,
    EscalationEvent,
    EscalationStatus,
    EventType,
    FailureReason,
    HubSpotEvent,
    PublishStatus,
    WebhookReceipt,
)
from core.models import AuditLogEntry
from tests.factories import T0, escalation, message

pytestmark = pytest.mark.django_db

ACTIONS = ("retry-callbacks", "resend-publish", "close")


def page_url(esc) -> str:
    return f"/admin/conversations/escalation/{esc.pk}/change/"


def action_url(esc, name: str) -> str:
    return f"/admin/conversations/escalation/{esc.pk}/actions/{name}/"


@pytest.fixture
def story(inbox_a):
    """An assigned escalation with a transcript, an agent reply with a file, a failed publish, a
    webhook, a callback that failed once then was given up, and the bot's API calls."""
    esc = escalation(
        inbox_a,
        status=EscalationStatus.ASSIGNED,
        title="Parcel lost",
        user_name="Ada Lovelace",
        agent_name="Alice Agent",
        agent_actor_id="A-1001",
        hubspot_thread_id="4242",
        created_at=T0,
        opened_at=T0 + dt.timedelta(seconds=1),
        assigned_at=T0 + dt.timedelta(seconds=30),
    )
    message(esc, 1, role="intro", text="Ada Lovelace needs help: Parcel lost", sent_at=T0, published_at=T0)
    message(esc, 2, role="user", text="User: Where is my parcel?", sent_at=T0, published_at=T0)
    message(esc, 3, role="bot", text="Bot: Let me get a person.", sent_at=T0, published_at=T0)
    message(
        esc,
        4,
        role="agent",
        text="Here is the label",
        sent_at=T0 + dt.timedelta(seconds=40),
        attachments=[
            {"name": "label.png", "url": "https://files.example/label.png", "size": 2048},
            {"name": "evil.txt", "url": "javascript:alert(1)"},
        ],
    )
    message(
        esc,
        5,
        role="user",
        text="Thanks!",
        sent_at=T0 + dt.timedelta(seconds=50),
        publish_status=PublishStatus.FAILED,
        publish_error="HubSpot refused message #5: 400 invalid",
    )
    app = inbox_a.connection.app
    receipt = WebhookReceipt.objects.create(app=app, kind="app", headers={}, body="[]")
    HubSpotEvent.objects.create(
        app=app,
        receipt=receipt,
        dedupe_key="event:1",
        event_type="conversation.propertyChange",
        object_id="4242",
        payload={"propertyName": "assignedTo", "propertyValue": "A-1001", "objectId": 4242},
        escalation=esc,
        status=HubSpotEvent.Status.PROCESSED,
        result="assigned to A-1001",
    )
    event = EscalationEvent.objects.create(
        escalation=esc,
        sequence=1,
        type=EventType.OPENED,
        data={"hubspot_thread_id": "4242"},
        occurred_at=T0,
        dedupe_key="opened",
        delivery_status=DeliveryStatus.FAILED,
        attempts=2,
    )
    Escalation.objects.filter(pk=esc.pk).update(last_event_sequence=1)
    CallbackAttempt.objects.create(event=event, url="https://bot.example/cb", status_code=503, duration_ms=87)
    CallbackAttempt.objects.create(
        event=event, url="https://bot.example/cb", status_code=None, duration_ms=3001, error="read timeout"
    )
    BotApiRequest.objects.create(
        connection=esc.connection,
        escalation=esc,
        action="start",
        method="POST",
        path="/api/v1/escalations/",
        status_code=201,
        duration_ms=120,
    )
    BotApiRequest.objects.create(
        connection=esc.connection,
        escalation=esc,
        action="message",
        method="POST",
        path=f"/api/v1/escalations/{esc.pk}/messages/",
        status_code=409,
        error_code="escalation_closed",
        duration_ms=9,
    )
    return esc


def test_the_page_shows_the_transcript_as_a_chat(client, lead_a, story):
    client.force_login(lead_a)
    response = client.get(page_url(story))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="esc-badge esc-assigned"' in html
    assert "esc-msg esc-msg-intro" in html and "Ada Lovelace needs help: Parcel lost" in html
    # The transcript prefixes are shown as the author, not repeated in the bubble.
    assert "Where is my parcel?" in html and "User: Where is my parcel?" not in html
    assert "Let me get a person." in html and "Bot: Let me get a person." not in html
    assert "esc-msg esc-msg-agent" in html and "Here is the label" in html
    assert '<a href="https://files.example/label.png" target="_blank" rel="noopener">label.png</a>' in html
    assert "evil.txt" in html and "javascript:alert" not in html
    assert "Publish failed" in html and "HubSpot refused message #5: 400 invalid" in html
    assert "Published to HubSpot" in html and "Received from HubSpot" in html
    assert f'href="/sandbox/app/console/{story.connection.portal_id}/threads/4242/"' in html


def test_the_timeline_lists_everything_in_time_order(client, lead_a, story):
    client.force_login(lead_a)
    html = client.get(page_url(story)).content.decode()
    for text in (
        "Escalation requested by the bot",
        "Bot start: POST /api/v1/escalations/",
        "refused: escalation_closed",
        "Published message #2 (user) to HubSpot",
        "Publishing message #5 (user) failed",
        "Webhook received: conversation.propertyChange",
        "&quot;propertyName&quot;: &quot;assignedTo&quot;",  # the raw payload, escaped in a <pre>
        "Event escalation.opened #1 for the bot",
        "Callback #1 (escalation.opened), attempt 1: HTTP 503",
        "87 ms",
        "Callback #1 (escalation.opened), attempt 2: no answer",
        "read timeout",
        "Assigned to Alice Agent",
    ):
        assert text in html, text
    assert "<details><summary>Raw payload</summary><pre>" in html
    times = [html.index(t) for t in ("Escalation requested by the bot", "Assigned to Alice Agent")]
    assert times == sorted(times)


def test_the_page_costs_the_same_whatever_the_escalation_holds(client, lead_a, story, inbox_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    small = escalation(inbox_a)
    client.force_login(lead_a)
    client.get(page_url(small))  # warm the session
    with CaptureQueriesContext(connection) as few:
        client.get(page_url(small))
    with CaptureQueriesContext(connection) as many:
        client.get(page_url(story))
    assert len(few) == len(many)


def test_support_leads_see_no_action_buttons(client, lead_a, admin_a, story):
    client.force_login(lead_a)
    html = client.get(page_url(story)).content.decode()
    assert "/actions/" not in html and "Retry failed callbacks" not in html and "Close escalation" not in html
    client.force_login(admin_a)
    html = client.get(page_url(story)).content.decode()
    for name in ACTIONS:
        assert action_url(story, name) in html
    assert "Retry failed callbacks (1)" in html and "Resend failed publish (1)" in html


@pytest.mark.parametrize("name", ACTIONS)
def test_a_support_lead_posting_an_action_is_refused_and_nothing_changes(client, lead_a, story, name):
    client.force_login(lead_a)
    response = client.post(action_url(story, name))
    assert response.status_code == 403
    story.refresh_from_db()
    assert story.status == EscalationStatus.ASSIGNED
    assert EscalationEvent.objects.get(escalation=story, sequence=1).delivery_status == DeliveryStatus.FAILED
    assert story.messages.get(position=5).publish_status == PublishStatus.FAILED
    assert not AuditLogEntry.objects.filter(action__startswith="escalation.").exists()


@pytest.mark.parametrize("name", ACTIONS)
def test_another_tenants_admin_gets_404_for_page_and_actions(client, admin_b, story, name):
    client.force_login(admin_b)
    assert client.get(page_url(story)).status_code == 404
    assert client.post(action_url(story, name)).status_code == 404
    story.refresh_from_db()
    assert story.status == EscalationStatus.ASSIGNED
    assert story.messages.get(position=5).publish_status == PublishStatus.FAILED


def test_actions_need_a_post_and_a_known_name(client, admin_a, story):
    client.force_login(admin_a)
    # A GET changes nothing and leads back to the page (no bare 405).
    response = client.get(action_url(story, "close"))
    assert response.status_code == 302 and response["Location"].endswith(f"/{story.pk}/change/")
    story.refresh_from_db()
    assert story.status != "closed"
    assert client.post(action_url(story, "explode")).status_code == 404
    assert client.post("/admin/conversations/escalation/not-a-uuid/actions/close/").status_code == 404


def test_actions_check_csrf(admin_a, story):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_a)
    assert strict.post(action_url(story, "close")).status_code == 403
    story.refresh_from_db()
    assert story.status == EscalationStatus.ASSIGNED


def test_the_change_page_edits_nothing(client, admin_a, story):
    client.force_login(admin_a)
    response = client.post(page_url(story), {"title": "hacked", "status": "closed"})
    assert response.status_code == 200
    story.refresh_from_db()
    assert story.title == "Parcel lost" and story.status == EscalationStatus.ASSIGNED
    assert "<form" not in response.content.decode().split('id="content-main"')[1].split("esc-actions")[0]


def queued(jobs, task: str) -> list:
    return [job.args[0] for job in jobs if job.name.endswith(f".{task}")]


def test_retry_failed_callbacks(client, admin_a, story, django_capture_on_commit_callbacks, queued_jobs):
    client.force_login(admin_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(action_url(story, "retry-callbacks"), follow=True)
    assert "Re-queued 1 failed callback for the bot." in response.content.decode()
    event = EscalationEvent.objects.get(escalation=story, sequence=1)
    assert event.delivery_status == DeliveryStatus.PENDING and event.attempts == 0
    assert queued(queued_jobs, "deliver_callbacks") == [str(story.pk)]
    entry = AuditLogEntry.objects.get(action="escalation.retry_callbacks")
    assert (
        entry.actor == admin_a
        and entry.target_id == str(story.pk)
        and entry.tenant == story.connection.tenant
    )
    # Again: nothing failed any more, and the admin is told so.
    response = client.post(action_url(story, "retry-callbacks"), follow=True)
    assert "nothing to retry" in response.content.decode()


def test_resend_a_failed_publish_keeps_the_idempotency_id(
    client, admin_a, story, django_capture_on_commit_callbacks, queued_jobs
):
    failed = story.messages.get(position=5)
    idempotency_id = failed.idempotency_id
    client.force_login(admin_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(action_url(story, "resend-publish"), follow=True)
    assert "Resending 1 message to HubSpot." in response.content.decode()
    failed.refresh_from_db()
    assert failed.publish_status == PublishStatus.PENDING and failed.publish_error == ""
    assert failed.idempotency_id == idempotency_id and failed.pk == story.messages.get(position=5).pk
    assert queued(queued_jobs, "publish_escalation") == [str(story.pk)]
    assert AuditLogEntry.objects.filter(action="escalation.resend_publish", outcome="success").count() == 1


def test_a_failed_escalation_is_not_resent(client, admin_a, inbox_a):
    esc = escalation(
        inbox_a,
        status=EscalationStatus.FAILED,
        failure_reason=FailureReason.PUBLISH_FAILED,
        failed_at=timezone.now(),
    )
    message(esc, 1, role="intro", publish_status=PublishStatus.FAILED, publish_error="400")
    client.force_login(admin_a)
    response = client.post(action_url(esc, "resend-publish"), follow=True)
    assert "the bot was told so; its messages are not resent" in response.content.decode()
    assert esc.messages.get().publish_status == PublishStatus.FAILED


def test_close_as_the_bot_api_does(client, admin_a, story, django_capture_on_commit_callbacks, queued_jobs):
    client.force_login(admin_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(action_url(story, "close"), follow=True)
    assert "Closed the escalation; the HubSpot thread is being closed." in response.content.decode()
    story.refresh_from_db()
    # Recorded as this admin's close, not the bot's (the bot's callback says admin_closed).
    assert story.status == EscalationStatus.CLOSED and story.close_reason == CloseReason.ADMIN_CLOSED
    assert story.closed_by == admin_a
    assert queued(queued_jobs, "close_hubspot_thread") == [str(story.pk)]
    closed = EscalationEvent.objects.get(escalation=story, type=EventType.CLOSED)
    assert closed.data["reason"] == "admin_closed"
    assert EscalationEvent.objects.filter(escalation=story, type=EventType.CLOSED).count() == 1
    response = client.post(action_url(story, "close"), follow=True)
    assert "already closed" in response.content.decode()
    assert Escalation.objects.get(pk=story.pk).status == EscalationStatus.CLOSED


def test_superuser_may_act_on_any_tenant(client, superuser, story, queued_jobs):
    client.force_login(superuser)
    assert client.post(action_url(story, "close")).status_code == 302
    story.refresh_from_db()
    assert story.status == EscalationStatus.CLOSED
