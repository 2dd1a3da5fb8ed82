"""Owed HubSpot thread closes (Escalation.hubspot_close_pending), without a worker.

The bot's close is final at once; closing the HubSpot thread is owed until HubSpot confirms.
`sweep_owed_thread_closes` re-queues the owed closes past the grace (their task lost, or an eager
run that could not reach HubSpot), and a refusal is recorded once instead of retried forever.
"""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from conversations import timeline
from conversations.models import Escalation, EscalationStatus
from conversations.tasks import publishing as tasks
from sandbox.models import SandboxBehaviour, SandboxThread
from tests.api.conftest import BotClient, start_body
from tests.factories import EscalationFactory
from tests.jobs import captured_jobs

CLOSED = EscalationStatus.CLOSED


def _closed(connection, *, age: dt.timedelta, **fields) -> Escalation:
    esc = EscalationFactory(connection=connection, status=CLOSED, hubspot_thread_id="77", **fields)
    Escalation.objects.filter(pk=esc.pk).update(closed_at=timezone.now() - age)
    return esc


@pytest.mark.django_db
def test_the_sweep_queues_only_owed_closes_past_the_grace(platform_connection, settings, monkeypatch):
    settings.HITL_SWEEP_GRACE_SECONDS = 30
    old = dt.timedelta(seconds=31)
    owed = _closed(platform_connection, age=old, hubspot_close_pending=True)
    older = _closed(platform_connection, age=dt.timedelta(hours=2), hubspot_close_pending=True)
    _closed(platform_connection, age=dt.timedelta(seconds=5), hubspot_close_pending=True)  # task queued
    _closed(platform_connection, age=old)  # closed by the agent in HubSpot: nothing owed
    _closed(platform_connection, age=old, hubspot_closed_at=timezone.now())  # confirmed
    _closed(platform_connection, age=old, hubspot_close_error="HubSpot refused to close the thread")
    with captured_jobs() as queued:
        assert tasks.sweep_owed_thread_closes() == 2
    assert [job.args for job in queued] == [(str(older.pk),), (str(owed.pk),)]  # oldest first


@pytest.mark.django_db
def test_a_close_without_a_thread_stays_owed_through_the_grace(platform_connection, settings):
    """A publish begun before the bot closed may still be creating the thread: the close task
    leaves the close owed until the grace is over, then settles it (nothing to close)."""
    settings.HITL_SWEEP_GRACE_SECONDS = 30
    esc = EscalationFactory(connection=platform_connection, status=CLOSED, hubspot_close_pending=True)
    Escalation.objects.filter(pk=esc.pk).update(closed_at=timezone.now())

    assert tasks.close_hubspot_thread(str(esc.pk)) is False
    esc.refresh_from_db()
    assert esc.hubspot_close_pending

    Escalation.objects.filter(pk=esc.pk).update(closed_at=timezone.now() - dt.timedelta(seconds=31))
    assert tasks.close_hubspot_thread(str(esc.pk)) is False
    esc.refresh_from_db()
    assert not esc.hubspot_close_pending and esc.hubspot_closed_at is None and not esc.hubspot_close_error


def test_the_close_sweep_is_scheduled_with_beat(settings):
    entries = {e["task"]: e["schedule"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert entries["conversations.tasks.publishing.sweep_owed_thread_closes"] == 60.0


@pytest.fixture
def bot(live_server, provisioned) -> BotClient:
    return BotClient(live_server.url, provisioned["bot_api_key"])


@pytest.fixture
def published(bot):
    """An escalation started over the bot API (eager mode) whose HubSpot thread is open."""
    response = bot.post("escalations/", start_body(transcript=[]))
    assert response.status_code == 201, response.text
    esc = Escalation.objects.get(pk=response.json()["id"])
    assert esc.hubspot_thread_id and _thread(esc).status == "OPEN"
    return esc


def _thread(esc: Escalation) -> SandboxThread:
    return SandboxThread.objects.get(pk=int(esc.hubspot_thread_id))


def _hubspot_fails(requests: int, *, status: int, path: str = "/threads/") -> None:
    behaviour = SandboxBehaviour.current()
    behaviour.fail_next_requests, behaviour.fail_status, behaviour.fail_path_contains = requests, status, path
    behaviour.save()


def _past_the_grace(esc: Escalation, settings) -> None:
    grace = dt.timedelta(seconds=settings.HITL_SWEEP_GRACE_SECONDS + 1)
    Escalation.objects.filter(pk=esc.pk).update(closed_at=timezone.now() - grace)


@pytest.mark.django_db(transaction=True)
def test_a_close_that_failed_in_eager_mode_is_retried_by_the_sweep(bot, published, settings):
    _hubspot_fails(1, status=503)  # its Retry-After is the task's to wait for, not the call's
    response = bot.post(f"escalations/{published.pk}/close/")

    assert response.status_code == 200 and response.json()["status"] == "closed"
    published.refresh_from_db()
    assert published.hubspot_close_pending and published.hubspot_closed_at is None
    assert _thread(published).status == "OPEN", "HubSpot was down: the thread is still open"
    owed = [e.title for e in timeline.build(published, []) if e.tone == "busy"]
    assert owed == ["Closing the HubSpot thread"]

    assert tasks.sweep_owed_thread_closes() == 0, "within the grace its own task may still run"
    _past_the_grace(published, settings)
    # make run's retry loop (no beat there) runs the sweep; eager: the close runs here, HubSpot is back
    out = io.StringIO()
    call_command("deliver_callbacks", stdout=out)
    assert "retried 1 pending HubSpot thread closes" in out.getvalue()

    published.refresh_from_db()
    assert _thread(published).status == "CLOSED"
    assert not published.hubspot_close_pending and published.hubspot_closed_at is not None
    assert tasks.sweep_owed_thread_closes() == 0
    assert "HubSpot thread closed" in [e.title for e in timeline.build(published, [])]


@pytest.mark.django_db(transaction=True)
def test_a_refused_close_is_recorded_not_retried(bot, published, settings):
    _hubspot_fails(1, status=403)
    response = bot.post(f"escalations/{published.pk}/close/")

    assert response.status_code == 200
    published.refresh_from_db()
    assert not published.hubspot_close_pending and published.hubspot_closed_at is None
    assert published.hubspot_close_error.startswith("HubSpot refused to close the thread")
    _past_the_grace(published, settings)
    assert tasks.sweep_owed_thread_closes() == 0
    assert _thread(published).status == "OPEN"
    bad = [(e.title, e.detail) for e in timeline.build(published, []) if e.tone == "bad"]
    assert bad == [("The HubSpot thread was not closed", published.hubspot_close_error)]


@pytest.mark.django_db(transaction=True)
def test_closing_a_thread_already_closed_in_hubspot_is_success(bot, published):
    SandboxThread.objects.filter(pk=int(published.hubspot_thread_id)).update(status="CLOSED")
    Escalation.objects.filter(pk=published.pk).update(status=CLOSED, hubspot_close_pending=True)

    assert tasks.close_hubspot_thread(str(published.pk)) is True
    published.refresh_from_db()
    assert not published.hubspot_close_pending and published.hubspot_closed_at is not None
    assert published.hubspot_close_error == ""
    assert tasks.close_hubspot_thread(str(published.pk)) is False  # a duplicate: nothing to do
