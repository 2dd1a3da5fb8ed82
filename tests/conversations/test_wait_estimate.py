"""The wait estimate on generated histories: its error against the actual wait, beside the naive
"inbox median" baseline it must beat. Figures are printed in the run's summary (docs/handoff.md)."""

from __future__ import annotations

import datetime as dt
import math
import random
import statistics

import pytest

from conversations.queue import Sample, estimate_wait, naive_inbox_median

MONDAY = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)


def typical_wait(at: dt.datetime) -> float:
    """A staffed desk: quick on weekday office hours, slower in the evening, slow at night and at
    weekends (a skeleton crew), as real inboxes behave."""
    weekday, hour = at.weekday(), at.hour
    if weekday >= 5:
        return 2400.0
    if 9 <= hour < 17:
        return 90.0
    if 17 <= hour < 22:
        return 600.0
    return 3600.0


def history(seed: int, weeks: int) -> list[Sample]:
    rng = random.Random(seed)
    samples, at = [], MONDAY
    end = MONDAY + dt.timedelta(weeks=weeks)
    while at < end:
        at += dt.timedelta(seconds=rng.expovariate(1 / 900))  # one start every 15 minutes on average
        wait = typical_wait(at) * math.exp(rng.gauss(0, 0.6))  # log-normal spread around the typical
        samples.append(Sample(at, wait))
    return samples


def errors(seed: int) -> dict[str, float]:
    samples = history(seed, weeks=5)
    split = MONDAY + dt.timedelta(weeks=4)
    past = [s for s in samples if s.started_at < split]
    future = [s for s in samples if s.started_at >= split]
    baseline = naive_inbox_median(past)
    rng = random.Random(seed + 1)
    ours_at_start, base_at_start, ours_later, base_later = [], [], [], []
    for s in future:
        at_start = estimate_wait(past, started_at=s.started_at, now=s.started_at)
        ours_at_start.append(abs(at_start.seconds - s.wait_seconds))
        base_at_start.append(abs(baseline - s.wait_seconds))
        # Asked again part-way through the wait: what is left.
        waited = rng.uniform(0, s.wait_seconds)
        now = s.started_at + dt.timedelta(seconds=waited)
        later = estimate_wait(past, started_at=s.started_at, now=now)
        left = s.wait_seconds - waited
        ours_later.append(abs(later.seconds - left))
        base_later.append(abs(baseline - left))
    return {
        "ours_at_start": statistics.median(ours_at_start),
        "baseline_at_start": statistics.median(base_at_start),
        "ours_part_way": statistics.median(ours_later),
        "baseline_part_way": statistics.median(base_later),
        "cases": len(future),
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_estimate_beats_the_inbox_median_on_generated_histories(seed, figures):
    e = errors(seed)
    figures(
        "Wait estimate: median absolute error (s), 4 weeks of history, 1 week scored",
        seed=seed,
        cases=e["cases"],
        estimate_at_start=round(e["ours_at_start"]),
        inbox_median_at_start=round(e["baseline_at_start"]),
        estimate_part_way=round(e["ours_part_way"]),
        inbox_median_part_way=round(e["baseline_part_way"]),
    )
    assert e["ours_at_start"] < 0.8 * e["baseline_at_start"]
    assert e["ours_part_way"] < 0.8 * e["baseline_part_way"]


def test_basis_follows_the_data():
    start = MONDAY + dt.timedelta(weeks=4, hours=10)
    assert estimate_wait([], started_at=start, now=start).basis == "none"
    assert estimate_wait([], started_at=start, now=start).seconds is None
    few = [Sample(MONDAY + dt.timedelta(hours=3 + i), 100.0 * (i + 1)) for i in range(6)]
    recent = estimate_wait(few, started_at=start, now=start)
    assert (recent.basis, recent.seconds) == ("inbox_recent", 350)
    busy = history(7, weeks=4)
    assert estimate_wait(busy, started_at=start, now=start).basis == "hour_of_week"


def test_a_long_wait_is_not_told_the_median_again():
    start = MONDAY + dt.timedelta(weeks=4)
    samples = [Sample(MONDAY + dt.timedelta(hours=i), w) for i, w in enumerate([60, 60, 60, 60, 900, 1200])]
    fresh = estimate_wait(samples, started_at=start, now=start)
    later = estimate_wait(samples, started_at=start, now=start + dt.timedelta(seconds=600))
    assert fresh.seconds == 60
    assert later.seconds == 450  # of the waits longer than 10 minutes (900, 1200), the median left
    beyond = estimate_wait(samples, started_at=start, now=start + dt.timedelta(hours=2))
    assert beyond.seconds == 0


def test_hour_of_week_wraps_round_sunday_night():
    sunday_late = MONDAY + dt.timedelta(days=6, hours=23, minutes=30)
    samples = [
        Sample(MONDAY + dt.timedelta(weeks=w, minutes=m), 42.0) for w in range(4) for m in range(0, 50, 10)
    ]
    samples += [Sample(MONDAY + dt.timedelta(days=3, minutes=m), 5000.0) for m in range(30)]
    got = estimate_wait(samples, started_at=sunday_late, now=sunday_late)
    assert (got.basis, got.seconds) == ("hour_of_week", 42)
