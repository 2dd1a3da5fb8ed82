"""Business-time arithmetic over an inbox's opening hours, holidays and time zone.

Every stretch is built in local wall time and converted to UTC with zoneinfo, so a stretch keeps
its local times across a daylight-saving change (09:00-17:00 is 8 hours on either side; a night
stretch 22:00-06:00 over the change is 7 or 9 hours long). A local time the clocks skip (02:30
on the spring-forward night) is read with the offset before the change, as zoneinfo does for
fold=0. An inbox without opening hours is always open: every function then answers as if the
clock never stopped (`Schedule.always_open`).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

UTC = dt.UTC
DAY = dt.timedelta(days=1)
# How far ahead to look for an opening: a year covers any holiday list; beyond it there is none.
HORIZON_DAYS = 370


@dataclass(frozen=True)
class Schedule:
    time_zone: str = "UTC"
    # weekday (0 = Monday) -> [(opens, closes)] in local time
    hours: dict[int, list[tuple[dt.time, dt.time]]] = field(default_factory=dict)
    holidays: frozenset[dt.date] = frozenset()

    @property
    def always_open(self) -> bool:
        return not any(self.hours.values())

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def stretches_of(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The UTC stretches that open on local date `day`."""
        if day in self.holidays:
            return []
        zone = self.zone
        found = []
        for opens, closes in self.hours.get(day.weekday(), []):
            start = dt.datetime.combine(day, opens, tzinfo=zone)
            end_day = day + DAY if closes <= opens else day
            end = dt.datetime.combine(end_day, closes, tzinfo=zone)
            start, end = start.astimezone(UTC), end.astimezone(UTC)
            if end > start:
                found.append((start, end))
        return sorted(found)

    def _stretches(self, start: dt.datetime, end: dt.datetime):
        """Stretches overlapping [start, end), in order (merged where they touch or overlap)."""
        zone = self.zone
        day = start.astimezone(zone).date() - DAY  # an overnight stretch of the day before
        last = end.astimezone(zone).date()
        merged: list[list[dt.datetime]] = []
        while day <= last:
            for s, e in self.stretches_of(day):
                if e <= start or s >= end:
                    continue
                if merged and s <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], e)
                else:
                    merged.append([s, e])
            day += DAY
        return merged

    def is_open(self, at: dt.datetime) -> bool:
        if self.always_open:
            return True
        return bool(self._stretches(at, at + dt.timedelta(microseconds=1)))

    def next_opening(self, at: dt.datetime) -> dt.datetime | None:
        """`at` itself when open, else the start of the next stretch (None: none within a year)."""
        if self.always_open or self.is_open(at):
            return at
        day = at.astimezone(self.zone).date() - DAY
        for _ in range(HORIZON_DAYS):
            for s, _e in self.stretches_of(day):
                if s > at:
                    return s
            day += DAY
        return None

    def open_seconds(self, start: dt.datetime, end: dt.datetime) -> float:
        """Seconds of [start, end) that fall in opening hours."""
        if end <= start:
            return 0.0
        if self.always_open:
            return (end - start).total_seconds()
        return sum((min(e, end) - max(s, start)).total_seconds() for s, e in self._stretches(start, end))

    def add_open_seconds(self, at: dt.datetime, seconds: float) -> dt.datetime | None:
        """The moment `seconds` of opening hours after `at` have passed (None: not within a year)."""
        if self.always_open:
            return at + dt.timedelta(seconds=seconds)
        left = dt.timedelta(seconds=max(0.0, seconds))
        cursor = at
        day = at.astimezone(self.zone).date() - DAY
        for _ in range(HORIZON_DAYS):
            for s, e in self.stretches_of(day):
                if e <= cursor:
                    continue
                s = max(s, cursor)
                if s + left <= e:
                    return s + left
                left -= e - s
                cursor = e
            day += DAY
        return None


def schedule_for(inbox) -> Schedule:
    """The inbox's schedule (two queries); an inbox of None is always open."""
    if inbox is None:
        return Schedule()
    hours: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for weekday, opens, closes in inbox.opening_hours.values_list("weekday", "opens_at", "closes_at"):
        hours.setdefault(weekday, []).append((opens, closes))
    holidays = frozenset(inbox.holidays.values_list("date", flat=True)) if hours else frozenset()
    return Schedule(time_zone=inbox.time_zone or "UTC", hours=hours, holidays=holidays)
