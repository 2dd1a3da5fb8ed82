"""The per-connection assignment timeout: no agent in time → escalation.failed (no_agent)."""

import datetime as dt

import pytest
import requests
from django.utils import timezone

from conversations.models import Escalation, EscalationStatus, EventType
from conversations.tasks import expire_unassigned_escalations
from conversations.timeouts import expire_unassigned
from tests.factories import EscalationFactory


@pytest.fixture
def no_http(monkeypatch):
    """Any outgoing HTTP call (a HubSpot thread update included) fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"unexpected HTTP call: {args[1:2]}")

    monkeypatch.setattr(requests.Session, "send", refuse)


def started(connection, minutes_ago: float, **extra) -> Escalation:
    escalation = EscalationFactory(
        connection=connection, callback_url="", conversation_id=f"c-{Escalation.objects.count()}", **extra
    )
    Escalation.objects.filter(pk=escalation.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=minutes_ago)
    )
    return escalation


def test_unassigned_escalation_fails_with_no_agent_and_the_thread_is_left_open(connection, no_http):
    # given: a 15-minute timeout
    connection.assignment_timeout_minutes = 15
    connection.save()
    overdue_requested = started(connection, 20)
    overdue_open = started(connection, 16, status=EscalationStatus.OPEN, hubspot_thread_id="9001")
    recent = started(connection, 10, status=EscalationStatus.OPEN)
    assigned = started(
        connection, 60, status=EscalationStatus.ASSIGNED, agent_actor_id="A-1", agent_name="Agent"
    )
    # taken by an agent 5 minutes ago, then handed back: it waits again from then
    five_minutes_ago = timezone.now() - dt.timedelta(minutes=5)
    handed_back = started(
        connection, 60, status=EscalationStatus.OPEN, assignment_changed_at=five_minutes_ago
    )

    # when
    assert expire_unassigned_escalations.delay().get() == 2

    # then
    for escalation in (overdue_requested, overdue_open):
        escalation.refresh_from_db()
        assert escalation.status == "failed" and escalation.failure_reason == "no_agent"
        assert escalation.close_reason == "" and escalation.closed_at is None
        event = escalation.events.get()
        assert event.type == EventType.FAILED
        assert event.data == {
            "reason": "no_agent",
            "message": "No agent took the conversation within 15 minutes; the HubSpot thread is left open.",
        }
    overdue_open.refresh_from_db()
    assert overdue_open.hubspot_thread_id == "9001"
    for escalation in (recent, assigned, handed_back):
        escalation.refresh_from_db()
        assert escalation.status != "failed" and not escalation.events.exists()

    # idempotent
    assert expire_unassigned() == 0
    assert overdue_requested.events.count() == 1


def test_no_timeout_configured_means_no_expiry(connection, no_http):
    started(connection, 60 * 24)
    assert connection.assignment_timeout_minutes is None
    assert expire_unassigned() == 0


def test_an_assignment_racing_the_timeout_wins(connection, no_http):
    # given: overdue when listed, but an agent takes it before the row is locked
    connection.assignment_timeout_minutes = 1
    connection.save()
    escalation = started(connection, 5, status=EscalationStatus.OPEN)
    Escalation.objects.filter(pk=escalation.pk).update(status=EscalationStatus.ASSIGNED, agent_actor_id="A-2")

    assert expire_unassigned() == 0
    escalation.refresh_from_db()
    assert escalation.status == "assigned"


def test_the_embedded_flush_command_applies_the_timeout_too(connection, no_http):
    from io import StringIO

    from django.core.management import call_command

    connection.assignment_timeout_minutes = 1
    connection.save()
    escalation = started(connection, 2)
    out = StringIO()
    call_command("deliver_callbacks", stdout=out)
    assert "1 escalations failed: no agent" in out.getvalue()
    escalation.refresh_from_db()
    assert escalation.failure_reason == "no_agent"
