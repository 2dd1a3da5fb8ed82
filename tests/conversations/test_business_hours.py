"""Business-time arithmetic (connections/business_hours.py): opening hours in the inbox's zone,
daylight-saving changes, overnight hours and holidays. 2026: Europe/London goes to BST on
Sunday 29 March (01:00 UTC) and back to GMT on Sunday 25 October (01:00 UTC)."""

import datetime as dt

import pytest

from connections.business_hours import Schedule

UTC = dt.UTC
T = dt.time
OFFICE = {day: [(T(9), T(17))] for day in range(5)}  # Monday to Friday, 09:00-17:00


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def london(**kwargs) -> Schedule:
    return Schedule(time_zone="Europe/London", **kwargs)


def test_no_hours_means_always_open():
    schedule = Schedule()
    at = utc(2026, 3, 1, 3, 0)
    assert schedule.always_open and schedule.is_open(at)
    assert schedule.next_opening(at) == at
    assert schedule.open_seconds(at, at + dt.timedelta(hours=5)) == 5 * 3600
    assert schedule.add_open_seconds(at, 60) == at + dt.timedelta(minutes=1)


def test_office_hours_follow_the_local_clock_in_winter_and_summer():
    schedule = london(hours=OFFICE)
    # winter: 09:00 GMT is 09:00 UTC; summer: 09:00 BST is 08:00 UTC
    assert schedule.is_open(utc(2026, 1, 6, 9, 0)) and not schedule.is_open(utc(2026, 1, 6, 8, 59))
    assert schedule.is_open(utc(2026, 6, 2, 8, 0)) and not schedule.is_open(utc(2026, 6, 2, 16, 0))


def test_the_weekend_of_the_spring_change_opens_on_monday_at_nine_summer_time():
    schedule = london(hours=OFFICE)
    friday_evening = utc(2026, 3, 27, 18, 0)  # 18:00 GMT
    assert not schedule.is_open(friday_evening)
    assert schedule.next_opening(friday_evening) == utc(2026, 3, 30, 8, 0)  # Monday 09:00 BST
    # a working day is 8 hours on either side of the change
    assert schedule.open_seconds(utc(2026, 3, 27, 0), utc(2026, 3, 28, 0)) == 8 * 3600
    assert schedule.open_seconds(utc(2026, 3, 30, 0), utc(2026, 3, 31, 0)) == 8 * 3600
    # Friday 16:30 GMT plus an hour of business time: the last half hour, then 30 min on Monday
    assert schedule.add_open_seconds(utc(2026, 3, 27, 16, 30), 3600) == utc(2026, 3, 30, 8, 30)


@pytest.mark.parametrize(
    ("saturday", "hours"),
    [(dt.date(2026, 3, 28), 7), (dt.date(2026, 10, 24), 9), (dt.date(2026, 6, 6), 8)],
    ids=["spring-forward", "fall-back", "no-change"],
)
def test_a_night_shift_over_a_clock_change_lasts_the_hours_the_clock_shows(saturday, hours):
    schedule = london(hours={5: [(T(22), T(6))]})  # Saturday 22:00 to Sunday 06:00
    start = dt.datetime.combine(saturday, T(12), tzinfo=UTC)
    assert schedule.open_seconds(start, start + dt.timedelta(days=1)) == hours * 3600


def test_overnight_hours_are_open_after_midnight_and_close_in_the_morning():
    schedule = london(hours={4: [(T(20), T(2))]})  # Friday 20:00 to Saturday 02:00 (winter: UTC)
    assert schedule.is_open(utc(2026, 1, 10, 1, 30))  # Saturday 01:30
    assert not schedule.is_open(utc(2026, 1, 10, 2, 0))
    assert schedule.next_opening(utc(2026, 1, 10, 2, 0)) == utc(2026, 1, 16, 20, 0)


def test_a_holiday_closes_that_day_and_the_next_opening_skips_it():
    christmas = dt.date(2026, 12, 25)  # a Friday
    schedule = london(hours=OFFICE, holidays=frozenset({christmas}))
    assert not schedule.is_open(utc(2026, 12, 25, 10, 0))
    assert schedule.next_opening(utc(2026, 12, 24, 17, 30)) == utc(2026, 12, 28, 9, 0)
    assert schedule.open_seconds(utc(2026, 12, 24), utc(2026, 12, 29)) == 2 * 8 * 3600


def test_a_holiday_leaves_the_night_that_began_the_evening_before():
    schedule = london(hours={d: [(T(22), T(6))] for d in range(7)}, holidays=frozenset({dt.date(2026, 1, 1)}))
    assert schedule.is_open(utc(2026, 1, 1, 5, 0))  # the night of 31 December runs to 06:00
    assert not schedule.is_open(utc(2026, 1, 1, 23, 0))  # the holiday's own night is closed
    assert schedule.next_opening(utc(2026, 1, 1, 6, 0)) == utc(2026, 1, 2, 22, 0)


def test_an_inbox_that_never_opens_has_no_next_opening():
    schedule = london(
        hours=OFFICE, holidays=frozenset(dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(400))
    )
    assert schedule.next_opening(utc(2026, 1, 1)) is None
    assert schedule.add_open_seconds(utc(2026, 1, 1), 60) is None
