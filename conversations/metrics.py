"""The figures of the tenant dashboard, as plain data: the admin view only renders them.

`dashboard(tenant_ids, period)` answers, for the escalations of those tenants:

* **Right now** (whatever the period): how many wait for HubSpot (requested), wait for an agent
  (open) or are with one (assigned).
* **In the period** (escalations *created* in it, so each escalation counts once wherever its
  later steps fall): how many ended in each status, per day, per failure and close reason, and
  per inbox the median and 90th percentile of time to assign and time to close.

Time to assign is `assigned_at - opened_at` and time to close `closed_at - opened_at`, both from
the moment the conversation reached the HubSpot inbox (`created_at` when `opened_at` is missing).
For an inbox with opening hours, time to assign counts business time only (the open seconds of
that span, connections/business_hours.py), computed in Python for those inboxes: a conversation
started at 17:55 and taken at 09:05 waited ten minutes of the desk's time, not fifteen hours.

SLA breaches (conversations/watchdogs.py) are counted per kind for the escalations of the period.

Percentiles are `percentile_cont` (linear interpolation between the closest ranks) in SQL on
PostgreSQL; SQLite (the embedded install) has no such aggregate, so there the durations of the
period are read and interpolated in Python, with the same definition, so both give the same figure.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from django.db import connection as db_connection
from django.db.models import Aggregate, Count, F, FloatField, Func, Q
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from conversations.models import CloseReason, Escalation, EscalationStatus, FailureReason
from conversations.models.escalations import ACTIVE_STATUSES
from core.hostile_input import DATE_RANGE_MESSAGE, MIN_DATE, date_in_range

MAX_PERIOD_DAYS = 366
DEFAULT_PERIOD_DAYS = 30


@dataclass(frozen=True)
class Period:
    """Whole days, both ends included, in the current time zone."""

    start: dt.date
    end: dt.date

    @classmethod
    def last_days(cls, days: int = DEFAULT_PERIOD_DAYS, *, today: dt.date | None = None) -> Period:
        today = today or timezone.localdate()
        return cls(today - dt.timedelta(days=days - 1), today)

    @classmethod
    def parse(cls, start: str | None, end: str | None, *, today: dt.date | None = None) -> Period:
        """From `?from=YYYY-MM-DD&to=YYYY-MM-DD` (either may be blank). ValueError says what is wrong."""
        default = cls.last_days(today=today)
        first = _parse_date(start, "from") if start else None
        last = _parse_date(end, "to") if end else None
        if first and not last:
            last = min(first + dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1), default.end)
            last = max(last, first)
        if last and not first:
            first = max(last - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1), MIN_DATE)
        period = cls(first or default.start, last or default.end)
        if period.start > period.end:
            raise ValueError(f"'from' ({period.start}) is after 'to' ({period.end}).")
        if period.days > MAX_PERIOD_DAYS:
            raise ValueError(f"The period is {period.days} days long; choose at most {MAX_PERIOD_DAYS} days.")
        return period

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[start of the first day, start of the day after the last) as aware datetimes."""
        tz = timezone.get_current_timezone()
        lower = dt.datetime.combine(self.start, dt.time.min, tzinfo=tz)
        upper = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        return lower, upper

    def dates(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range(self.days)]


def _parse_date(value: str, name: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"'{name}' must be a date written YYYY-MM-DD, not {value!r}.") from None
    if not date_in_range(day):
        raise ValueError(f"'{name}' is {day}: {DATE_RANGE_MESSAGE}.")
    return day


@dataclass
class Timing:
    count: int = 0
    median: float | None = None  # seconds
    p90: float | None = None


@dataclass
class InboxTimings:
    inbox_id: int | None
    label: str
    escalations: int = 0
    to_assign: Timing = field(default_factory=Timing)
    to_close: Timing = field(default_factory=Timing)


@dataclass
class Reason:
    code: str
    label: str
    count: int


@dataclass
class Dashboard:
    period: Period
    now: dict[str, int]  # requested / open / assigned, whatever the period
    statuses: dict[str, int]  # every status, escalations created in the period
    total: int
    per_day: list[tuple[dt.date, int, int]]  # (day, created, of which failed)
    inboxes: list[InboxTimings]
    failure_reasons: list[Reason]
    close_reasons: list[Reason]
    # Who or what ended them (conversations/endings.py): each close reason, the admin's closes and
    # the assignment timeout (failure no_agent) side by side.
    endings: list[Reason] = field(default_factory=list)
    # SLA breaches per kind (each stretch that ran over its threshold once).
    sla_breaches: list[Reason] = field(default_factory=list)


def dashboard(tenant_ids, period: Period, *, percentiles: str = "auto") -> Dashboard:
    """All figures for `tenant_ids` (an iterable of ids) over `period`. `percentiles` is "auto"
    (SQL where the database can), "sql" or "python" (tests compare the two)."""
    tenant_ids = list(tenant_ids)
    everything = Escalation.objects.for_tenants(tenant_ids)
    lower, upper = period.bounds()
    created = everything.filter(created_at__gte=lower, created_at__lt=upper)

    now = everything.aggregate(**{status: Count("pk", filter=Q(status=status)) for status in ACTIVE_STATUSES})
    statuses = {status: 0 for status in EscalationStatus.values}
    statuses.update(dict(created.order_by().values_list("status").annotate(n=Count("pk"))))
    return Dashboard(
        period=period,
        now={str(k): v for k, v in now.items()},
        statuses=statuses,
        total=sum(statuses.values()),
        per_day=_per_day(created, period),
        inboxes=inbox_timings(created, percentiles=percentiles),
        failure_reasons=_reasons(created, "failure_reason", FailureReason),
        close_reasons=_reasons(created, "close_reason", CloseReason),
        endings=_endings(created),
        sla_breaches=_sla_breaches(created),
    )


def _sla_breaches(created) -> list[Reason]:
    from connections.models import SlaKind
    from conversations.models import SlaBreach

    rows = (
        SlaBreach.objects.filter(escalation__in=created.values("pk"))
        .order_by()
        .values_list("kind")
        .annotate(n=Count("pk"))
    )
    labels = dict(SlaKind.choices)
    return sorted(
        (Reason(kind, labels.get(kind, kind), n) for kind, n in rows), key=lambda r: (-r.count, r.code)
    )


def _endings(created) -> list[Reason]:
    from conversations.endings import ENDINGS

    rows = dict(
        created.exclude(close_reason="").order_by().values_list("close_reason").annotate(n=Count("pk"))
    )
    timeouts = created.filter(failure_reason=FailureReason.NO_AGENT).count()
    if timeouts:
        rows[FailureReason.NO_AGENT.value] = timeouts
    found = [Reason(code, ENDINGS.get(code, code), n) for code, n in rows.items()]
    return sorted(found, key=lambda r: (-r.count, r.code))


def _per_day(created, period: Period) -> list[tuple[dt.date, int, int]]:
    rows = (
        created.annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values("day")
        .annotate(n=Count("pk"), failed=Count("pk", filter=Q(status=EscalationStatus.FAILED)))
    )
    by_day = {row["day"]: (row["n"], row["failed"]) for row in rows}
    return [(day, *by_day.get(day, (0, 0))) for day in period.dates()]


def _reasons(created, field_name: str, choices) -> list[Reason]:
    labels = dict(choices.choices)
    rows = (
        created.exclude(**{field_name: ""})
        .order_by()
        .values_list(field_name)
        .annotate(n=Count("pk"))
        .order_by("-n", field_name)
    )
    return [Reason(code, labels.get(code, code), n) for code, n in rows]


# -- time to assign / close per inbox ----------------------------------------------------------------

_START = Coalesce("opened_at", "created_at")
TIMINGS = {"to_assign": "assigned_at", "to_close": "closed_at"}


def inbox_timings(created, *, percentiles: str = "auto") -> list[InboxTimings]:
    inboxes: dict[int | None, InboxTimings] = {}
    rows = (
        created.order_by()
        .values("inbox_id", "inbox__name", "inbox__inbox_id", "connection__name")
        .annotate(n=Count("pk"))
    )
    for row in rows:
        inboxes[row["inbox_id"]] = InboxTimings(row["inbox_id"], _inbox_label(row), row["n"])
    use_sql = percentiles == "sql" or (percentiles == "auto" and db_connection.vendor == "postgresql")
    compute = _timings_sql if use_sql else _timings_python
    for name, end_field in TIMINGS.items():
        for inbox_id, timing in compute(created, end_field).items():
            setattr(inboxes[inbox_id], name, timing)
    for inbox_id, timing in _business_time_to_assign(created, [i for i in inboxes if i is not None]).items():
        inboxes[inbox_id].to_assign = timing
    return sorted(inboxes.values(), key=lambda i: (i.inbox_id is None, i.label))


def _business_time_to_assign(created, inbox_ids) -> dict[int, Timing]:
    """Time to assign in business time, for the inboxes that have opening hours."""
    from connections.business_hours import schedule_for
    from connections.models import ConnectedInbox

    timings = {}
    for inbox in ConnectedInbox.objects.filter(pk__in=inbox_ids, opening_hours__isnull=False).distinct():
        schedule = schedule_for(inbox)
        rows = (
            _finished(created.filter(inbox=inbox), "assigned_at")
            .order_by()
            .values_list("opened_at", "created_at", "assigned_at")
        )
        values = [
            schedule.open_seconds(opened or made, assigned) for opened, made, assigned in rows.iterator()
        ]
        timings[inbox.pk] = Timing(len(values), _ms(percentile(values, 0.5)), _ms(percentile(values, 0.9)))
    return timings


def _inbox_label(row) -> str:
    if row["inbox_id"] is None:
        return "No inbox"
    name = row["inbox__name"] or f"Inbox {row['inbox__inbox_id']}"
    return f"{name} · {row['connection__name']}" if row["connection__name"] else name


def _finished(created, end_field: str):
    # A clock running backwards (an end before the start) is bad data, not a negative wait.
    return created.filter(**{f"{end_field}__isnull": False}).filter(**{f"{end_field}__gte": _START})


class _PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate percentile_cont(fraction) WITHIN GROUP (ORDER BY x)."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


class _Seconds(Func):
    """EXTRACT(EPOCH FROM end - start): an interval in seconds (PostgreSQL)."""

    template = "EXTRACT(EPOCH FROM (%(expressions)s))"
    output_field = FloatField()


def _timings_sql(created, end_field: str) -> dict[int | None, Timing]:
    seconds = _Seconds(F(end_field) - _START)
    rows = (
        _finished(created, end_field)
        .order_by()
        .values("inbox_id")
        .annotate(n=Count("pk"), median=_PercentileCont(seconds, 0.5), p90=_PercentileCont(seconds, 0.9))
    )
    return {row["inbox_id"]: Timing(row["n"], _ms(row["median"]), _ms(row["p90"])) for row in rows}


def _timings_python(created, end_field: str) -> dict[int | None, Timing]:
    durations: dict[int | None, list[float]] = {}
    rows = (
        _finished(created, end_field).order_by().values_list("inbox_id", "opened_at", "created_at", end_field)
    )
    for inbox_id, opened_at, created_at, ended_at in rows.iterator():
        durations.setdefault(inbox_id, []).append((ended_at - (opened_at or created_at)).total_seconds())
    return {
        inbox_id: Timing(len(values), _ms(percentile(values, 0.5)), _ms(percentile(values, 0.9)))
        for inbox_id, values in durations.items()
    }


def _ms(seconds: float | None) -> float | None:
    # Whole milliseconds: interpolation leaves float noise (510.00000000000006) nobody should see.
    return None if seconds is None else round(seconds, 3)


def percentile(values: list[float], fraction: float) -> float | None:
    """percentile_cont: interpolate linearly at rank fraction * (n - 1) of the sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def format_duration(seconds: float | None) -> str:
    """1 h 05 min, 4 min 30 s, 12 s; an em dash when there is nothing to measure."""
    if seconds is None:
        return "—"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 24:
        days, hours = divmod(hours, 24)
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


__all__ = [
    "Dashboard",
    "InboxTimings",
    "Period",
    "Reason",
    "Timing",
    "dashboard",
    "format_duration",
    "percentile",
]
