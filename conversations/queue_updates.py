"""`escalation.queue_updated`: telling the bot when a waiting user's place or wait changed materially.

The queue moves when an escalation of the same inbox is assigned, closed or fails, or a new one
starts (lifecycle queues `refresh_inbox` for the inbox after each), and the estimate also moves
with the time already waited (the periodic sweep refreshes every inbox with someone waiting).

Material (`is_material`): the position differs from the one the bot was last told, or the
estimate appeared or disappeared, or it moved by at least ESTIMATE_MIN_CHANGE_SECONDS and
ESTIMATE_MIN_CHANGE_RATIO of the last value told. Bounded: at most one update per escalation in
HITL_QUEUE_UPDATE_MIN_SECONDS (the opened event counts); a change inside that window is sent by
the first refresh after it (the sweep at the latest), as one update with the latest figures.

Once per change: the comparison and the event are made under the escalation's row lock with what
was last sent (kept on the row), so two refreshes racing send one event; the event's dedupe key
is the update's number.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from connections.business_hours import schedule_for
from connections.models import ConnectedInbox
from conversations import events, queue
from conversations.models import Escalation, EscalationStatus, EventType

ESTIMATE_MIN_CHANGE_SECONDS = 60
ESTIMATE_MIN_CHANGE_RATIO = 0.25
#: Waiting escalations refreshed per inbox and run, oldest first (the ones a move affects first).
MAX_PER_INBOX = 500


def is_material(sent_position, sent_estimate, current: dict) -> bool:
    if current["position"] != sent_position:
        return True
    now = current["estimated_wait_seconds"]
    if (now is None) != (sent_estimate is None):
        return True
    if now is None:
        return False
    change = abs(now - sent_estimate)
    return change >= ESTIMATE_MIN_CHANGE_SECONDS and change >= ESTIMATE_MIN_CHANGE_RATIO * sent_estimate


def remember_sent(esc: Escalation, current: dict | None, at: dt.datetime) -> None:
    """What the bot was just told (the opened event's queue, or an update), on the row."""
    esc.queue_position_sent = current["position"] if current else None
    esc.queue_estimate_sent = current["estimated_wait_seconds"] if current else None
    esc.queue_sent_at = at


def _min_interval() -> dt.timedelta:
    return dt.timedelta(seconds=settings.HITL_QUEUE_UPDATE_MIN_SECONDS)


def refresh(escalation_id, *, now: dt.datetime | None = None, samples=None, schedule=None) -> bool:
    """Send `escalation.queue_updated` if this escalation's queue changed materially and the rate
    allows. True if an event was added."""
    now = now or timezone.now()
    with transaction.atomic():
        esc = Escalation.objects.select_for_update().filter(pk=escalation_id).first()
        if esc is None or esc.status != EscalationStatus.OPEN or esc.agent_actor_id:
            return False
        if esc.queue_sent_at and now - esc.queue_sent_at < _min_interval():
            return False
        current = queue.queue_for(esc, now=now, samples=samples, schedule=schedule)
        if current is None or not is_material(esc.queue_position_sent, esc.queue_estimate_sent, current):
            return False
        previous = {"position": esc.queue_position_sent, "estimated_wait_seconds": esc.queue_estimate_sent}
        esc.queue_updates_sent += 1
        remember_sent(esc, current, now)
        esc.save(
            update_fields=[
                "queue_updates_sent",
                "queue_position_sent",
                "queue_estimate_sent",
                "queue_sent_at",
                "updated_at",
            ]
        )
        event = events.emit(
            esc,
            EventType.QUEUE_UPDATED,
            {"queue": current, "previous": previous},
            dedupe_key=f"queue:{esc.queue_updates_sent}",
            occurred_at=now,
        )
    return event is not None


def due_ids(inbox_id: int, *, now: dt.datetime) -> list[str]:
    """The inbox's waiting escalations the rate bound lets be told now, oldest first. A burst of
    starts thus costs little: those just told their place are skipped until the sweep."""
    rows = Escalation.objects.filter(
        inbox_id=inbox_id, status=EscalationStatus.OPEN, agent_actor_id=""
    ).filter(Q(queue_sent_at__isnull=True) | Q(queue_sent_at__lte=now - _min_interval()))
    return [str(pk) for pk in rows.order_by("created_at", "pk").values_list("pk", flat=True)[:MAX_PER_INBOX]]


def refresh_inbox(inbox_id: int, *, now: dt.datetime | None = None) -> int:
    """Refresh the inbox's waiting escalations that may be told now; returns how many updates were
    sent. The inbox's history is read once for all of them."""
    now = now or timezone.now()
    due = due_ids(inbox_id, now=now)
    if not due:
        return 0
    schedule = schedule_for(ConnectedInbox.objects.filter(pk=inbox_id).first())
    samples = queue.recent_samples(inbox_id, now=now, schedule=schedule)
    return sum(refresh(escalation_id, now=now, samples=samples, schedule=schedule) for escalation_id in due)


def inboxes_with_waiting() -> list[int]:
    rows = Escalation.objects.filter(status=EscalationStatus.OPEN, agent_actor_id="", inbox__isnull=False)
    return sorted(set(rows.values_list("inbox_id", flat=True)))
