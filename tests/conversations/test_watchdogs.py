"""SLA watchdogs in one process (conversations/watchdogs.py): the owed actions (emails batched per
organisation, a HubSpot comment over real HTTP), per-inbox overrides, business time, the
dashboard's count, and the sweep's schedule. The worker round trips are in
tests/e2e/test_handoff_sla.py."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone

from connections.models import OpeningHours, SlaThreshold
from conversations import metrics, watchdogs
from conversations.models import Escalation, EscalationEvent, EscalationMessage, SlaBreach
from tests.factories import EscalationFactory, InboxFactory, MembershipFactory, MessageFactory, UserFactory
from tests.http_receiver import HTTPReceiver

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def waiting(inbox, minutes: float, **extra) -> Escalation:
    return EscalationFactory(
        inbox=inbox, status="open", callback_url="", created_at=NOW - dt.timedelta(minutes=minutes), **extra
    )


def message(esc, role: str, position: int, minutes_ago: int) -> None:
    """A message of the escalation `minutes_ago` (created_at is set by the database on insert)."""
    made = MessageFactory(escalation=esc, role=role, position=position)
    EscalationMessage.objects.filter(pk=made.pk).update(created_at=NOW - dt.timedelta(minutes=minutes_ago))


def lead(tenant, email: str):
    return MembershipFactory(tenant=tenant, user=UserFactory(email=email), role="support_lead").user


def test_emails_are_batched_per_organisation_and_sent_once(mailoutbox):
    first, second = InboxFactory(), InboxFactory()
    lead(first.connection.tenant, "a1@example.com")
    lead(first.connection.tenant, "a2@example.com")
    lead(second.connection.tenant, "b@example.com")
    for box in (first, second):
        SlaThreshold.objects.create(connection=box.connection, kind="unassigned", minutes=5, action="email")
    a1, a2 = waiting(first, 10), waiting(first, 30)
    b = waiting(second, 7)

    result = watchdogs.sweep(now=NOW)

    assert result == {"breaches": 3, "comments": 0, "emails": 2}
    by_to = {tuple(sorted(m.to)): m for m in mailoutbox}
    assert set(by_to) == {("a1@example.com", "a2@example.com"), ("b@example.com",)}
    body_a = by_to[("a1@example.com", "a2@example.com")].body
    assert str(a1.pk) in body_a and str(a2.pk) in body_a and str(b.pk) not in body_a
    assert "2 breaches" in by_to[("a1@example.com", "a2@example.com")].subject
    assert set(SlaBreach.objects.values_list("action_status", flat=True)) == {"done"}
    # once: nothing more on the next run
    assert watchdogs.sweep(now=NOW + dt.timedelta(minutes=1)) == {"breaches": 0, "comments": 0, "emails": 0}
    assert len(mailoutbox) == 2


def test_a_mail_server_that_refuses_leaves_the_email_owed(settings, mailoutbox):
    box = InboxFactory()
    lead(box.connection.tenant, "lead@example.com")
    SlaThreshold.objects.create(connection=box.connection, kind="unassigned", minutes=5, action="email")
    waiting(box, 10)
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2

    assert watchdogs.sweep(now=NOW)["emails"] == 0
    breach = SlaBreach.objects.get()
    assert breach.action_status == "pending" and "refused" in breach.action_error

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert watchdogs.sweep(now=NOW)["emails"] == 1
    assert SlaBreach.objects.get().action_status == "done" and len(mailoutbox) == 1


def test_the_comment_is_posted_to_the_hubspot_thread_once(settings):
    received = []

    def respond(request):
        received.append(request)
        return None  # 200 {"ok": true}

    box = InboxFactory()
    connection = box.connection
    connection.access_token = "token-for-comments"
    connection.access_token_expires_at = NOW + dt.timedelta(hours=1)
    connection.save()
    SlaThreshold.objects.create(connection=connection, kind="no_agent_reply", minutes=5, action="comment")
    esc = EscalationFactory(
        inbox=box,
        status="assigned",
        hubspot_thread_id="7301948561",
        agent_actor_id="A-1",
        callback_url="",
        assigned_at=NOW - dt.timedelta(minutes=9),
    )
    with HTTPReceiver(respond) as hubspot:
        settings.HUBSPOT_API_BASE = hubspot.url("").rstrip("/")
        assert watchdogs.sweep(now=NOW)["comments"] == 1
        assert watchdogs.sweep(now=NOW)["comments"] == 0

    (request,) = received
    assert request.method == "POST"
    assert request.path == "/conversations/v3/conversations/threads/7301948561/messages"
    assert request.headers["Authorization"] == "Bearer token-for-comments"
    body = request.json
    assert body["type"] == "COMMENT" and set(body) <= {"type", "text", "attachments"}
    assert body.get("attachments", []) == []
    assert "no agent reply after assignment" in body["text"]
    assert reverse("admin:conversations_escalation_change", args=[esc.pk]) in body["text"]
    assert SlaBreach.objects.get().action_status == "done"


def test_an_inbox_threshold_replaces_the_connection_wide_one():
    strict, relaxed = InboxFactory(), None
    relaxed = InboxFactory(connection=strict.connection)
    SlaThreshold.objects.create(connection=strict.connection, kind="unassigned", minutes=30)
    SlaThreshold.objects.create(connection=strict.connection, inbox=strict, kind="unassigned", minutes=5)
    in_strict, in_relaxed = waiting(strict, 10), waiting(relaxed, 10)

    assert watchdogs.sweep(now=NOW)["breaches"] == 1
    assert SlaBreach.objects.get().escalation_id == in_strict.pk
    assert not SlaBreach.objects.filter(escalation=in_relaxed).exists()
    event = EscalationEvent.objects.get()
    assert event.type == "escalation.sla_breached"
    assert event.data == {
        "kind": "unassigned",
        "threshold_seconds": 300,
        "elapsed_seconds": 600,
        "action": "notify",
    }


def test_the_agent_side_clock_stops_while_the_inbox_is_closed():
    box = InboxFactory()
    SlaThreshold.objects.create(connection=box.connection, kind="unassigned", minutes=30)
    now = dt.datetime(2026, 1, 7, 9, 10, tzinfo=dt.UTC)  # Wednesday 09:10 in London (GMT)
    for day in range(5):
        OpeningHours.objects.create(inbox=box, weekday=day, opens_at=dt.time(9), closes_at=dt.time(17))
    box.time_zone = "Europe/London"
    box.save()
    # started at 16:50 the day before: 10 min before closing + 10 min since opening = 20 open minutes
    EscalationFactory(
        inbox=box, status="open", callback_url="", created_at=now - dt.timedelta(hours=16, minutes=20)
    )

    assert watchdogs.sweep(now=now)["breaches"] == 0
    assert watchdogs.sweep(now=now + dt.timedelta(minutes=10))["breaches"] == 1
    assert SlaBreach.objects.get().elapsed_seconds == 30 * 60


def test_a_new_silence_is_a_new_breach_and_an_answer_stops_the_clock():
    box = InboxFactory()
    SlaThreshold.objects.create(connection=box.connection, kind="user_silent", minutes=10)
    esc = EscalationFactory(
        inbox=box,
        status="assigned",
        agent_actor_id="A-1",
        callback_url="",
        assigned_at=NOW - dt.timedelta(hours=1),
    )
    message(esc, "user", 1, 50)
    message(esc, "agent", 2, 40)
    assert watchdogs.sweep(now=NOW)["breaches"] == 1
    # the user answers, the agent asks again: a new stretch
    message(esc, "user", 3, 5)
    assert watchdogs.sweep(now=NOW)["breaches"] == 0
    message(esc, "agent", 4, 4)
    assert watchdogs.sweep(now=NOW + dt.timedelta(minutes=10))["breaches"] == 1
    assert SlaBreach.objects.filter(escalation=esc).count() == 2
    assert [e.sequence for e in EscalationEvent.objects.filter(escalation=esc).order_by("sequence")] == [1, 2]


def test_the_dashboard_counts_breaches_and_business_time_to_assign():
    box = InboxFactory()
    for day in range(7):
        OpeningHours.objects.create(inbox=box, weekday=day, opens_at=dt.time(9), closes_at=dt.time(17))
    today = timezone.localdate()
    # started 16:55 UTC yesterday, taken 09:05 today: 10 minutes of business time
    started = dt.datetime.combine(today - dt.timedelta(days=1), dt.time(16, 55), tzinfo=dt.UTC)
    esc = EscalationFactory(
        inbox=box,
        status="assigned",
        created_at=started,
        opened_at=started,
        assigned_at=started + dt.timedelta(hours=16, minutes=10),
    )
    SlaBreach.objects.create(
        escalation=esc,
        kind="unassigned",
        since=started,
        threshold_seconds=300,
        elapsed_seconds=600,
        action="notify",
    )
    data = metrics.dashboard([box.connection.tenant_id], metrics.Period.last_days(7))
    (row,) = data.inboxes
    assert row.to_assign.median == 600
    assert [(r.code, r.count) for r in data.sla_breaches] == [("unassigned", 1)]


def test_the_sweep_is_scheduled():
    entries = {e["task"]: e["schedule"] for e in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert (
        entries["conversations.tasks.watchdogs.sweep_sla_watchdogs"] == django_settings.HITL_SLA_SWEEP_SECONDS
    )


def test_user_left_counts_only_waits_of_at_least_the_threshold_and_never_closes_twice():
    from conversations import escalations

    box = InboxFactory()
    SlaThreshold.objects.create(connection=box.connection, kind="user_left", minutes=5, action="close")
    quick, patient = waiting(box, 2), waiting(box, 8)

    assert escalations.close(quick, reason="user_ended")
    assert escalations.close(patient, reason="user_ended")

    assert not SlaBreach.objects.filter(escalation=quick).exists()
    breach = SlaBreach.objects.get(escalation=patient)
    waited_by_now = (timezone.now() - patient.created_at).total_seconds()
    assert breach.kind == "user_left" and 480 <= breach.elapsed_seconds <= waited_by_now + 1
    types = list(patient.events.order_by("sequence").values_list("type", "data__closed_by__kind"))
    assert types == [("escalation.sla_breached", None), ("escalation.closed", "user")]
    assert [t for t, _ in quick.events.values_list("type", "sequence")] == ["escalation.closed"]
