"""Lost processing tasks, fast and without a worker: which stored webhook events the sweep treats
as lost (the rule World.beat relies on in the SIGKILL and broker-restart scenarios), and a later
event of a thread taking the earlier, still pending ones along so none is overtaken."""

import datetime as dt

import pytest
from django.utils import timezone

from conversations.models import EscalationEvent, EscalationStatus, HubSpotEvent, WebhookReceipt
from conversations.tasks import webhooks
from tests.factories import EscalationFactory, HubSpotAppFactory
from tests.webhooks.conftest import cache_actor
from tests.webhooks.helpers import deliver
from tests.webhooks.test_routing import assigned

pytestmark = pytest.mark.django_db


def _event(app, key: str, *, age: dt.timedelta, status="pending", result="", retry_at=None) -> HubSpotEvent:
    receipt = WebhookReceipt.objects.create(app=app, kind="app", headers={}, body="[]", event_count=1)
    event = HubSpotEvent.objects.create(
        app=app,
        receipt=receipt,
        dedupe_key=key,
        event_type="conversation.newMessage",
        payload={},
        status=status,
        result=result,
        retry_at=retry_at,
    )
    HubSpotEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - age)
    return event


def test_lost_events_are_the_untouched_ones_past_the_grace(settings):
    settings.HITL_SWEEP_GRACE_SECONDS = 30
    app = HubSpotAppFactory()
    now = timezone.now()
    lost = _event(app, "event:1", age=dt.timedelta(seconds=31))
    young = _event(app, "event:2", age=dt.timedelta(seconds=5))  # its task may still be queued
    _event(app, "event:3", age=dt.timedelta(minutes=5), status="processed")
    _event(app, "event:4", age=dt.timedelta(minutes=5), status="failed", result="HubSpot refused")
    waiting = _event(
        app,
        "event:5",
        age=dt.timedelta(minutes=5),
        result="HubSpot unavailable (attempt 3)",
        retry_at=now + dt.timedelta(minutes=2),
    )
    # Reprocessed from the admin: a note in `result`, no retry scheduled, so lost after the grace.
    reprocessed = _event(app, "event:6", age=dt.timedelta(minutes=6), result="Reprocess requested.")
    assert webhooks.lost_event_ids() == [reprocessed.pk, lost.pk]
    # A retried event is lost once its retry is overdue by the grace.
    assert waiting.pk not in webhooks.lost_event_ids(now=now + dt.timedelta(minutes=2, seconds=29))
    later = now + dt.timedelta(minutes=2, seconds=31)
    assert webhooks.lost_event_ids(now=later) == [
        reprocessed.pk,
        waiting.pk,
        lost.pk,
        young.pk,
    ]  # oldest first


def test_the_sweep_is_scheduled_with_beat(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "conversations.tasks.webhooks.sweep_pending_webhook_events" in tasks


def test_a_later_event_of_a_thread_processes_the_earlier_pending_ones_first(
    client, platform_app, platform_connection, django_capture_on_commit_callbacks
):
    EscalationFactory(connection=platform_connection, hubspot_thread_id="9001", status=EscalationStatus.OPEN)
    cache_actor(platform_connection, "A-1", "First")
    cache_actor(platform_connection, "A-2", "Second")
    with django_capture_on_commit_callbacks(execute=False):  # its task is lost (broker restart)
        deliver(client, platform_app, "app", [assigned(actor="A-1", event_id=1, at=1000_000)])
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, platform_app, "app", [assigned(actor="A-2", event_id=2, at=2000_000)])
    assert set(HubSpotEvent.objects.values_list("status", flat=True)) == {"processed"}
    agents = [e.data["agent"]["id"] for e in EscalationEvent.objects.order_by("sequence")]
    assert agents == ["A-1", "A-2"], "the bot hears of both assignments, in HubSpot's order"
