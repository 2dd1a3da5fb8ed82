"""Where a waiting escalation stands: its place in the inbox's queue and how long it will likely wait.

Position: escalations of the same inbox that are still waiting for an agent (requested or open,
no agent) and were started earlier, plus one. HubSpot routes by its own rules, so this is the
fair-queue position, not a promise.

Estimate (see docs/handoff.md for the measured error): from the inbox's observed time-to-assign
(`assigned_at - created_at`) over the last `WINDOW` of assigned escalations,

1. keep the samples started in the same hour of the week (UTC, ±1 hour, wrapping round Sunday
   night) when there are at least `MIN_BUCKET_SAMPLES` of them (basis `hour_of_week`), else all
   recent samples (basis `inbox_recent`); with fewer than `MIN_SAMPLES` there is no estimate
   (basis `none`, estimated_wait_seconds null);
2. condition on the time already waited: of the samples longer than it, the median of what was
   left (a user who has waited 10 minutes is not told the 2-minute median again), falling back to
   the upper quartile of the whole basis minus the time waited when no sample waited that long.

The pure function `estimate_wait` holds the rule, so it can be tested on generated histories
without a database; `queue_for` reads the two inputs it needs in two queries.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from connections.business_hours import Schedule, schedule_for
from conversations.models import Escalation, EscalationStatus

WINDOW = dt.timedelta(days=28)
MAX_SAMPLES = 2000
MIN_SAMPLES = 5
MIN_BUCKET_SAMPLES = 20
HOUR_SPREAD = 1  # hours either side of the current hour of the week
HOURS_PER_WEEK = 7 * 24

WAITING_STATUSES = (EscalationStatus.REQUESTED, EscalationStatus.OPEN)


@dataclass(frozen=True)
class Sample:
    started_at: dt.datetime
    wait_seconds: float


@dataclass(frozen=True)
class WaitEstimate:
    seconds: int | None
    basis: str  # "hour_of_week" | "inbox_recent" | "none"
    samples: int


def hour_of_week(at: dt.datetime) -> int:
    at = at.astimezone(dt.UTC)
    return at.weekday() * 24 + at.hour


def _near(hour: int, other: int) -> bool:
    distance = abs(hour - other) % HOURS_PER_WEEK
    return min(distance, HOURS_PER_WEEK - distance) <= HOUR_SPREAD


def estimate_wait(
    samples: list[Sample], *, started_at: dt.datetime, now: dt.datetime, waited: float | None = None
) -> WaitEstimate:
    """Expected seconds still to wait for an escalation started at `started_at`, seen at `now`.
    `waited` (seconds already waited) defaults to the wall-clock time since the start; an inbox
    with opening hours passes the open seconds instead."""
    if len(samples) < MIN_SAMPLES:
        return WaitEstimate(None, "none", len(samples))
    hour = hour_of_week(started_at)
    bucket = [s.wait_seconds for s in samples if _near(hour, hour_of_week(s.started_at))]
    if len(bucket) >= MIN_BUCKET_SAMPLES:
        waits, basis = bucket, "hour_of_week"
    else:
        waits, basis = [s.wait_seconds for s in samples], "inbox_recent"
    waited = max(0.0, (now - started_at).total_seconds() if waited is None else waited)
    longer = [w - waited for w in waits if w > waited]
    if longer:
        remaining = statistics.median(longer)
    else:
        remaining = max(0.0, statistics.quantiles(waits, n=4)[-1] - waited) if len(waits) > 1 else 0.0
    return WaitEstimate(round(remaining), basis, len(waits))


def naive_inbox_median(samples: list[Sample]) -> float | None:
    """The baseline the estimate must beat: the inbox's median time-to-assign, whatever the hour."""
    return statistics.median(s.wait_seconds for s in samples) if samples else None


def recent_samples(inbox_id: int, *, now: dt.datetime, schedule: Schedule | None = None) -> list[Sample]:
    """The inbox's recent time-to-assign; with opening hours, only the open seconds of each wait
    count (a start at 17:55 taken at 09:05 the next morning waited 10 business minutes)."""
    rows = (
        Escalation.objects.filter(inbox_id=inbox_id, assigned_at__isnull=False, created_at__gte=now - WINDOW)
        .order_by("-created_at")
        .values_list("created_at", "assigned_at")[:MAX_SAMPLES]
    )
    if schedule is None or schedule.always_open:
        return [Sample(created, max(0.0, (assigned - created).total_seconds())) for created, assigned in rows]
    return [Sample(created, schedule.open_seconds(created, assigned)) for created, assigned in rows]


def is_waiting(esc: Escalation) -> bool:
    return esc.status in WAITING_STATUSES and not esc.agent_actor_id


def position(esc: Escalation) -> int:
    ahead = (
        Escalation.objects.filter(inbox_id=esc.inbox_id, status__in=WAITING_STATUSES, agent_actor_id="")
        .filter(Q(created_at__lt=esc.created_at) | Q(created_at=esc.created_at, pk__lt=esc.pk))
        .count()
    )
    return ahead + 1


def queue_for(
    esc: Escalation,
    *,
    now: dt.datetime | None = None,
    samples: list[Sample] | None = None,
    schedule: Schedule | None = None,
    place: int | None = None,
) -> dict | None:
    """`{position, estimated_wait_seconds, basis}` while the escalation waits for an agent, else None;
    an inbox with opening hours adds `open_now` and `next_opening_at`. `samples`, `schedule` and
    `place`: the inbox's `recent_samples`, `schedule_for` and the position, when the caller already
    has them (a list page computes them once per inbox)."""
    if not esc.inbox_id or not is_waiting(esc):
        return None
    now = now or timezone.now()
    if schedule is None:
        schedule = schedule_for(esc.inbox)
    if samples is None:
        samples = recent_samples(esc.inbox_id, now=now, schedule=schedule)
    place = position(esc) if place is None else place
    if schedule.always_open:
        estimate = estimate_wait(samples, started_at=esc.created_at, now=now)
        return {"position": place, "estimated_wait_seconds": estimate.seconds, "basis": estimate.basis}
    waited = schedule.open_seconds(esc.created_at, now)
    estimate = estimate_wait(samples, started_at=esc.created_at, now=now, waited=waited)
    opening = schedule.next_opening(now)
    return {
        "position": place,
        "estimated_wait_seconds": wall_clock_wait(schedule, now, estimate.seconds),
        "basis": estimate.basis,
        "open_now": opening == now,
        "next_opening_at": _iso(opening),
    }


def wall_clock_wait(schedule: Schedule, now: dt.datetime, business_seconds: int | None) -> int | None:
    """The estimate in open seconds turned into time on the clock: the closed hours until the next
    opening (and any closing before the estimate runs out) are added. With no estimate from the
    history, the time until the next opening is still a lower bound worth telling."""
    if business_seconds is None:
        opening = schedule.next_opening(now)
        return None if opening is None or opening == now else round((opening - now).total_seconds())
    until = schedule.add_open_seconds(now, business_seconds)
    return None if until is None else round((until - now).total_seconds())


def _iso(at: dt.datetime | None) -> str | None:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if at else None


def queues_for_page(escalations, *, now: dt.datetime | None = None) -> dict:
    """`queue_for` of each waiting escalation among `escalations` (a list page), by pk, with the
    positions read in one query and the schedule and the history once per inbox that has one
    waiting (not per row)."""
    now = now or timezone.now()
    waiting = [e for e in escalations if e.inbox_id and is_waiting(e)]
    places = places_in_line(waiting)
    found: dict = {}
    for inbox_id in {e.inbox_id for e in waiting}:
        of_inbox = [e for e in waiting if e.inbox_id == inbox_id]
        schedule = schedule_for(of_inbox[0].inbox)
        samples = recent_samples(inbox_id, now=now, schedule=schedule)
        for esc in of_inbox:
            found[esc.pk] = queue_for(
                esc, now=now, samples=samples, schedule=schedule, place=places.get(esc.pk)
            )
    return found


def places_in_line(waiting: list[Escalation]) -> dict:
    """Each escalation's place in its inbox's queue, by pk, numbered in the database: a busy inbox
    has thousands waiting, and a page needs the places of a few of them. One that stopped waiting
    meanwhile is left out (`queue_for` then counts its place itself)."""
    if not waiting:
        return {}
    inboxes = sorted({e.inbox_id for e in waiting})
    key = Escalation._meta.pk
    pks = [key.get_db_prep_value(e.pk, connection) for e in waiting]
    table = connection.ops.quote_name(Escalation._meta.db_table)
    # Only the table's name and placeholders are formatted in; every value is a parameter.
    sql = (
        f"SELECT id, place FROM (SELECT id, ROW_NUMBER() OVER"  # noqa: S608
        f" (PARTITION BY inbox_id ORDER BY created_at, id) AS place FROM {table}"
        f" WHERE inbox_id IN ({_marks(inboxes)}) AND status IN ({_marks(WAITING_STATUSES)})"
        f" AND agent_actor_id = '') line WHERE id IN ({_marks(pks)})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*inboxes, *WAITING_STATUSES, *pks])
        rows = cursor.fetchall()
    return {key.to_python(pk): place for pk, place in rows}


def _marks(values) -> str:
    return ", ".join(["%s"] * len(values))


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def describe_wait(seconds: int | None) -> str:
    """ "about 4 minutes" for a person; "" when there is no estimate."""
    if seconds is None:
        return ""
    if seconds < 60:
        return "less than a minute"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} minute{'s' if minutes != 1 else ''}"
    hours = round(seconds / 3600, 1)
    return f"about {hours:g} hours"


def describe(queue: dict) -> str:
    """ "You are 3rd in line, about 4 minutes" (or "You are next in line")."""
    place = "next" if queue["position"] == 1 else ordinal(queue["position"])
    wait = describe_wait(queue.get("estimated_wait_seconds"))
    return f"You are {place} in line" + (f", {wait}" if wait else "")
