"""The callback delivery log: events owed to bots and each attempt, and the admin action "retry
failed callback deliveries" (conversations.delivery.retry_event), against a real HTTP receiver."""

import pytest

from connections.models import CallbackSecret
from conversations import events
from conversations.models import CallbackAttempt, DeliveryStatus, EscalationEvent, EventType
from core.models import AuditLogEntry
from tenants.models import Role
from tests.console_logs.conftest import change_url, changelist_url, messages_of, run_action
from tests.factories import (
    CallbackAttemptFactory,
    EscalationEventFactory,
    EscalationFactory,
    MembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def callback_settings(settings):
    settings.HITL_ALLOW_PRIVATE_CALLBACKS = True  # the receiver listens on 127.0.0.1
    settings.HITL_CALLBACK_CONNECT_TIMEOUT = 1.0
    settings.HITL_CALLBACK_READ_TIMEOUT = 0.5
    settings.HITL_CALLBACK_RETRY_SCHEDULE = [10, 30, 60, 300, 900, 3600]


@pytest.fixture
def gave_up(conn_a, receiver):
    """An event the delivery gave up on (the bot failed it for a day), and the next one delivered."""
    CallbackSecret.issue(conn_a)
    escalation = EscalationFactory(connection=conn_a, callback_url=receiver.url)
    first = events.emit(escalation, EventType.OPENED, {}, dedupe_key="opened")
    second = events.emit(escalation, EventType.ASSIGNED, {"agent": {"id": "A-1"}}, dedupe_key="assigned:A-1")
    EscalationEvent.objects.filter(pk=first.pk).update(delivery_status=DeliveryStatus.FAILED, attempts=6)
    EscalationEvent.objects.filter(pk=second.pk).update(delivery_status=DeliveryStatus.DELIVERED, attempts=1)
    return first, second


def retry(client, user, objects, capture):
    client.force_login(user)
    return run_action(client, EscalationEvent, "retry_deliveries", objects, capture)


def test_a_given_up_event_goes_back_to_pending_and_is_delivered_once(
    client, admin_a, gave_up, receiver, django_capture_on_commit_callbacks
):
    first, second = gave_up
    response = retry(client, admin_a, [first, second], django_capture_on_commit_callbacks)
    assert messages_of(response) == [
        "Queued 1 given-up delivery(ies) again: they go out in sequence order, now.",
        "1 selected event(s) had not given up (pending, delivered or pull only): left as they are.",
    ]
    assert receiver.sequences() == [1]  # only the given-up one, once; the delivered one not again
    first.refresh_from_db()
    assert (first.delivery_status, first.attempts) == ("delivered", 1)
    attempt = CallbackAttempt.objects.get(event=first)
    assert attempt.status_code == 200 and attempt.url == receiver.url
    entry = AuditLogEntry.objects.get(action="callbacks.retry")
    assert (entry.actor, entry.tenant.slug, entry.details) == (admin_a, "acme", {"ids": [str(first.pk)]})

    retry(client, admin_a, [first], django_capture_on_commit_callbacks)  # delivered now: nothing sent
    assert receiver.sequences() == [1]


def test_support_lead_gets_no_action_and_a_posted_one_changes_nothing(
    client, lead_a, gave_up, receiver, django_capture_on_commit_callbacks
):
    first, _ = gave_up
    client.force_login(lead_a)
    page = client.get(changelist_url(EscalationEvent))
    assert page.status_code == 200 and "Gave up" in page.text
    assert 'name="action"' not in page.text and "Retry failed" not in page.text
    retry(client, lead_a, [first], django_capture_on_commit_callbacks)
    first.refresh_from_db()
    assert (first.delivery_status, first.attempts) == ("failed", 6)
    assert receiver.received == [] and not AuditLogEntry.objects.exists()


def test_lead_here_and_admin_elsewhere_cannot_retry_here(
    client, tenant_a, tenant_b, gave_up, receiver, django_capture_on_commit_callbacks
):
    user = UserFactory(username="twohats")
    MembershipFactory(tenant=tenant_a, user=user, role=Role.SUPPORT_LEAD)
    MembershipFactory(tenant=tenant_b, user=user, role=Role.ADMIN)
    first, _ = gave_up
    response = retry(client, user, [first], django_capture_on_commit_callbacks)
    assert "1 event(s) of organisations you do not administer were left alone." in messages_of(response)
    first.refresh_from_db()
    assert first.delivery_status == "failed" and receiver.received == []


def test_other_tenants_admin_cannot_retry_by_post(
    client, admin_b, gave_up, receiver, django_capture_on_commit_callbacks
):
    first, _ = gave_up
    retry(client, admin_b, [first], django_capture_on_commit_callbacks)
    first.refresh_from_db()
    assert first.delivery_status == "failed" and receiver.received == []


def test_event_page_shows_body_and_attempts(client, lead_a, conn_a):
    event = EscalationEventFactory(
        escalation=EscalationFactory(connection=conn_a, conversation_id="conv-xyz"),
        type=EventType.MESSAGE,
        data={"text": "<b>hello</b>"},
        delivery_status=DeliveryStatus.FAILED,
        attempts=2,
    )
    CallbackAttemptFactory(event=event, status_code=503, error="HTTP 503", duration_ms=321)
    CallbackAttemptFactory(
        event=event, status_code=None, error="ReadTimeout: read timed out", duration_ms=500
    )
    client.force_login(lead_a)
    html = client.get(change_url(event)).text
    assert "conv-xyz" in html and "&lt;b&gt;hello&lt;/b&gt;" in html
    assert "<td>bot.example.com</td><td>503</td><td>321</td><td>HTTP 503</td>" in html
    assert "ReadTimeout: read timed out" in html
    assert "bot-secret-token" not in html


def test_attempt_list_and_page_never_print_the_urls_query(client, lead_a, conn_a):
    # requests' connection errors quote the URL with its query string; callbacks.py stores them as is
    error = "connection error: Max retries exceeded with url: /hitl/events?token=bot-secret-token"
    attempt = CallbackAttemptFactory(event__escalation=EscalationFactory(connection=conn_a), error=error)
    client.force_login(lead_a)
    listing = client.get(changelist_url(CallbackAttempt)).text
    for column in ("When", "Event", "Host", "HTTP", "Error / response"):
        assert column in listing
    assert "bot.example.com" in listing and "bot down" in listing
    page = client.get(change_url(attempt)).text
    assert "https://bot.example.com/hitl/events" in page
    assert "bot-secret-token" not in listing and "bot-secret-token" not in page


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"delivery_status__exact": "failed"}, {0}),
        ({"type__exact": "escalation.message"}, {1}),
        ({}, {0, 1, 2}),
    ],
)
def test_event_filters(client, admin_a, conn_a, params, expected):
    escalation = EscalationFactory(connection=conn_a)
    rows = [
        EscalationEventFactory(escalation=escalation, delivery_status="failed"),
        EscalationEventFactory(escalation=escalation, type=EventType.MESSAGE, delivery_status="delivered"),
        EscalationEventFactory(escalation=escalation, type=EventType.CLOSED),
    ]
    client.force_login(admin_a)
    result = client.get(changelist_url(EscalationEvent), params).context["cl"].result_list
    assert {e.pk for e in result} == {rows[i].pk for i in expected}


def test_attempt_outcome_filter(client, admin_a, conn_a):
    event = EscalationEventFactory(escalation=EscalationFactory(connection=conn_a))
    ok = CallbackAttemptFactory(event=event, status_code=204, error="")
    bad = CallbackAttemptFactory(event=event, status_code=500)
    timeout = CallbackAttemptFactory(event=event, status_code=None, error="ReadTimeout")
    client.force_login(admin_a)

    def pks(params):
        return {a.pk for a in client.get(changelist_url(CallbackAttempt), params).context["cl"].result_list}

    assert pks({"outcome": "ok"}) == {ok.pk}
    assert pks({"outcome": "failed"}) == {bad.pk, timeout.pk}
