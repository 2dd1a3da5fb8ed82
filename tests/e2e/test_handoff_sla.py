"""Issue 17's SLA watchdogs and business hours, end to end with a real Celery worker.

live_server serves the portal and the sandbox HubSpot; the bot is a callback receiver verifying
signatures; a worker subprocess (PostgreSQL, Redis) publishes, processes the sandbox's webhooks,
runs the SLA sweep and delivers the callbacks. The agent acts through the sandbox console's
actions. Instead of waiting real minutes, a test moves the whole escalation back in time (every
timestamp by the same amount, so their order stays) and then lets the sweep run.

Each test checks what the bot received: the documented events, each exactly once, sequences
1..n in order, and that running the sweep again adds nothing.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import requests
from django.db.models import F
from django.utils import timezone

from connections.models import ConnectedInbox, Connection, Holiday, OpeningHours, SlaThreshold
from conversations import watchdogs
from conversations.models import Escalation, EscalationEvent, EscalationMessage, SlaBreach
from conversations.tasks import sweep_sla_watchdogs
from sandbox.console import actions
from sandbox.models import SandboxActor, SandboxThread
from tests.e2e import flow
from tests.factories import EscalationFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]

AGO = dt.timedelta(minutes=20)


# -- helpers ------------------------------------------------------------------------------------


def api(provisioned) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {provisioned['bot_api_key']}"
    return session


def start(live_server, provisioned, bot, conversation_id: str) -> requests.Response:
    return api(provisioned).post(
        f"{live_server.url}/api/v1/escalations/",
        json={
            "conversation_id": conversation_id,
            "user": flow.USER,
            "title": flow.TITLE,
            "transcript": [{"role": role, "text": text} for role, text in flow.TRANSCRIPT],
            "callback_url": bot.url,
        },
        timeout=60,
    )


def started(live_server, provisioned, bot, conversation_id: str) -> Escalation:
    response = start(live_server, provisioned, bot, conversation_id)
    assert response.status_code == 201, response.text
    flow.wait_for("escalation.opened", lambda: types(bot)[:1] == ["escalation.opened"], flush=False)
    return Escalation.objects.get(pk=response.json()["id"])


def types(bot) -> list[str]:
    return [e["type"] for e in bot.received()]


def wait_types(bot, expected: list[str]) -> list[dict]:
    flow.wait_for(f"events {expected}", lambda: len(bot.received()) >= len(expected), flush=False)
    events = bot.received()
    assert [e["type"] for e in events] == expected, [(e["sequence"], e["type"]) for e in events]
    assert [e["sequence"] for e in events] == list(range(1, len(expected) + 1))
    assert len({e["id"] for e in events}) == len(expected)
    return events


def thread_of(esc: Escalation) -> SandboxThread:
    esc.refresh_from_db()
    return SandboxThread.objects.get(pk=int(esc.hubspot_thread_id))


def assign(esc: Escalation, bot) -> SandboxThread:
    thread = thread_of(esc)
    agent = SandboxActor.objects.get(portal=thread.portal, actor_id=flow.AGENT_ID)
    assert actions.assign(thread, agent)
    flow.wait_for("escalation.assigned", lambda: "escalation.assigned" in types(bot), flush=False)
    return thread


def agent_replies(esc: Escalation, thread: SandboxThread, bot, text: str) -> None:
    agent = SandboxActor.objects.get(portal=thread.portal, actor_id=flow.AGENT_ID)
    actions.reply(thread, agent, text=text, token=f"sla-{text}")
    flow.wait_for("escalation.message", lambda: "escalation.message" in types(bot), flush=False)


def move_back(esc: Escalation, delta: dt.timedelta = AGO) -> None:
    """As if everything about the escalation had happened `delta` earlier."""
    shift = {
        name: F(name) - delta
        for name in ("created_at", "opened_at", "assigned_at", "assignment_changed_at", "status_changed_at")
    }
    Escalation.objects.filter(pk=esc.pk).update(**shift)
    EscalationMessage.objects.filter(escalation=esc).update(created_at=F("created_at") - delta)


def threshold(kind: str, minutes: int = 10, action: str = "notify", **extra) -> SlaThreshold:
    return SlaThreshold.objects.create(
        connection=Connection.objects.get(), kind=kind, minutes=minutes, action=action, **extra
    )


def settled(bot, count: int) -> None:
    """Nothing left to deliver, the sweep finds nothing more, and the bot got no further event."""
    flow.wait_for(
        "deliveries to settle",
        lambda: not EscalationEvent.objects.filter(delivery_status="pending").exists(),
        flush=False,
    )
    assert watchdogs.sweep()["breaches"] == 0
    assert len(bot.received()) == count


# -- watchdogs ----------------------------------------------------------------------------------


def test_unassigned_breach_is_sent_once_by_the_swept_worker(live_server, provisioned, bot, e2e_worker):
    threshold("unassigned", minutes=10)
    esc = started(live_server, provisioned, bot, "sla-unassigned")
    move_back(esc)

    # two sweeps racing in the worker
    sweep_sla_watchdogs.delay()
    sweep_sla_watchdogs.delay()

    events = wait_types(bot, ["escalation.opened", "escalation.sla_breached"])
    data = events[1]["data"]
    assert data["kind"] == "unassigned" and data["threshold_seconds"] == 600
    assert 1200 <= data["elapsed_seconds"] < 1300 and data["action"] == "notify"
    breach = SlaBreach.objects.get()
    assert (breach.kind, breach.threshold_seconds) == ("unassigned", 600)
    esc.refresh_from_db()
    assert esc.status == "open"  # notify only
    settled(bot, 2)


def test_no_agent_reply_closes_and_returns_to_the_bot(live_server, provisioned, bot, e2e_worker):
    threshold("no_agent_reply", minutes=10, action="close")
    esc = started(live_server, provisioned, bot, "sla-no-reply")
    thread = assign(esc, bot)
    move_back(esc)

    sweep_sla_watchdogs.delay()

    events = wait_types(
        bot, ["escalation.opened", "escalation.assigned", "escalation.sla_breached", "escalation.closed"]
    )
    assert events[2]["data"]["kind"] == "no_agent_reply"
    assert events[2]["data"]["threshold_seconds"] == 600
    closed = events[3]["data"]
    assert closed["reason"] == "watchdog"
    assert closed["closed_by"] == {
        "kind": "watchdog",
        "id": "no_agent_reply",
        "name": "No agent reply after assignment",
    }
    # The HubSpot thread is closed too (the worker's close task), which adds no event.
    flow.wait_for(
        "the thread closed in HubSpot",
        lambda: SandboxThread.objects.get(pk=thread.pk).status == "CLOSED",
        flush=False,
    )
    settled(bot, 4)


def test_agent_silent_emails_the_support_leads_once(live_server, provisioned, bot, e2e_worker, mailoutbox):
    connection = Connection.objects.get()
    MembershipFactory(
        tenant=connection.tenant, user=UserFactory(email="lead@example.com"), role="support_lead"
    )
    threshold("agent_silent", minutes=10, action="email")
    esc = started(live_server, provisioned, bot, "sla-agent-silent")
    thread = assign(esc, bot)
    agent_replies(esc, thread, bot, "Let me check.")
    response = api(provisioned).post(
        f"{live_server.url}/api/v1/escalations/{esc.pk}/messages/",
        json={"text": "Any news?", "client_message_id": "u-1"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    move_back(esc)

    # The sweep in this process (its email lands in mailoutbox); the worker delivers the event.
    assert watchdogs.sweep()["breaches"] == 1
    events = wait_types(
        bot, ["escalation.opened", "escalation.assigned", "escalation.message", "escalation.sla_breached"]
    )
    assert events[3]["data"]["kind"] == "agent_silent"
    assert 1200 <= events[3]["data"]["elapsed_seconds"] < 1300
    (mail,) = mailoutbox
    assert mail.to == ["lead@example.com"]
    assert f"/admin/conversations/escalation/{esc.pk}/change/" in mail.body
    assert "Agent silent" in mail.body
    assert SlaBreach.objects.get().action_status == "done"
    settled(bot, 4)
    assert len(mailoutbox) == 1


def test_user_silent_is_notified(live_server, provisioned, bot, e2e_worker):
    threshold("user_silent", minutes=15)
    esc = started(live_server, provisioned, bot, "sla-user-silent")
    thread = assign(esc, bot)
    agent_replies(esc, thread, bot, "Could you send the order number?")
    move_back(esc)

    sweep_sla_watchdogs.delay()

    events = wait_types(
        bot, ["escalation.opened", "escalation.assigned", "escalation.message", "escalation.sla_breached"]
    )
    assert events[3]["data"]["kind"] == "user_silent" and events[3]["data"]["threshold_seconds"] == 900
    settled(bot, 4)


def test_user_left_while_waiting_comes_before_the_close(live_server, provisioned, bot, e2e_worker):
    threshold("user_left", minutes=0)
    esc = started(live_server, provisioned, bot, "sla-user-left")
    move_back(esc, dt.timedelta(minutes=3))

    response = api(provisioned).post(
        f"{live_server.url}/api/v1/escalations/{esc.pk}/close/", json={"by": "user"}, timeout=30
    )
    assert response.status_code == 200, response.text

    events = wait_types(bot, ["escalation.opened", "escalation.sla_breached", "escalation.closed"])
    assert events[1]["data"]["kind"] == "user_left" and events[1]["data"]["threshold_seconds"] == 0
    assert 180 <= events[1]["data"]["elapsed_seconds"] < 240
    assert events[2]["data"]["closed_by"]["kind"] == "user"
    settled(bot, 3)


# -- business hours -----------------------------------------------------------------------------


def inbox() -> ConnectedInbox:
    """The inbox a start without inbox_id goes to."""
    return ConnectedInbox.objects.filter(connection=Connection.objects.get(), state="active").order_by(
        "position", "id"
    )[0]


def test_refused_on_a_holiday_with_the_next_opening(live_server, provisioned, bot, e2e_worker):
    connection = Connection.objects.get()
    connection.outside_hours = "refuse"
    connection.save()
    box = inbox()
    box.time_zone = "Pacific/Auckland"
    box.save()
    zone = zoneinfo.ZoneInfo("Pacific/Auckland")
    for day in range(7):  # open round the clock (00:00 to 00:00 is a whole day)...
        OpeningHours.objects.create(inbox=box, weekday=day, opens_at=dt.time(0), closes_at=dt.time(0))
    today = timezone.now().astimezone(zone).date()
    Holiday.objects.create(inbox=box, date=today, name="Test day")  # ...except today

    response = start(live_server, provisioned, bot, "bh-holiday")

    assert response.status_code == 409, response.text
    body = response.json()
    opening = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    assert body["error"] == "outside_business_hours"
    assert dt.datetime.fromisoformat(body["next_opening_at"]) == opening
    assert body["next_opening_at"].endswith("Z")
    assert body["time_zone"] == "Pacific/Auckland"
    assert abs(body["opens_in_seconds"] - (opening - timezone.now()).total_seconds()) < 30
    assert not Escalation.objects.exists() and not SandboxThread.objects.exists()
    assert bot.received() == []


def test_overnight_hours_accept_a_start_after_midnight_logic(live_server, provisioned, bot, e2e_worker):
    """A stretch opening two hours ago and closing 'earlier' than it opens runs overnight (22 h):
    the inbox is open now, so even the refuse policy accepts."""
    connection = Connection.objects.get()
    connection.outside_hours = "refuse"
    connection.save()
    box = inbox()
    box.time_zone = "America/New_York"
    box.save()
    local = timezone.now().astimezone(zoneinfo.ZoneInfo("America/New_York"))
    opened = local - dt.timedelta(hours=2)
    OpeningHours.objects.create(
        inbox=box,
        weekday=opened.weekday(),
        opens_at=opened.time().replace(second=0, microsecond=0),
        closes_at=(local - dt.timedelta(hours=3)).time().replace(second=0, microsecond=0),
    )

    response = start(live_server, provisioned, bot, "bh-overnight")

    assert response.status_code == 201, response.text
    events = wait_types(bot, ["escalation.opened"])
    queue = events[0]["data"]["queue"]
    assert queue["open_now"] is True and queue["position"] == 1


def test_queued_outside_hours_the_estimate_counts_the_closed_hours(live_server, provisioned, bot, e2e_worker):
    box = inbox()
    box.time_zone = "Europe/London"
    box.save()
    zone = zoneinfo.ZoneInfo("Europe/London")
    now = timezone.now()
    opens = (now + dt.timedelta(hours=2)).astimezone(zone).replace(second=0, microsecond=0)
    OpeningHours.objects.create(
        inbox=box,
        weekday=opens.weekday(),
        opens_at=opens.time(),
        closes_at=(opens + dt.timedelta(hours=1)).time(),
    )
    # History: eight escalations of the last four weeks, started while the inbox was closed and
    # taken 10 minutes after it opened: 10 minutes of business time each.
    for week in range(1, 5):
        day = (opens - dt.timedelta(weeks=week)).date()
        began = dt.datetime.combine(day, opens.time(), tzinfo=zone)
        for hours_before in (1, 3):
            EscalationFactory(
                inbox=box,
                status="closed",
                created_at=began - dt.timedelta(hours=hours_before),
                opened_at=began - dt.timedelta(hours=hours_before),
                assigned_at=began + dt.timedelta(minutes=10),
            )
    assert connection_policy() == "queue"

    response = start(live_server, provisioned, bot, "bh-queued")

    assert response.status_code == 201, response.text
    queue = response.json()["queue"]
    expected = (opens + dt.timedelta(minutes=10) - timezone.now()).total_seconds()
    assert queue["open_now"] is False
    assert dt.datetime.fromisoformat(queue["next_opening_at"]) == opens
    assert queue["basis"] == "inbox_recent"
    assert abs(queue["estimated_wait_seconds"] - expected) < 30, (queue, expected)
    events = wait_types(bot, ["escalation.opened"])
    sent = events[0]["data"]["queue"]
    assert sent["open_now"] is False and abs(sent["estimated_wait_seconds"] - expected) < 30


def connection_policy() -> str:
    return Connection.objects.get().outside_hours
