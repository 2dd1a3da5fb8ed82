"""Dashboard figures on known data: every count, the per-day series, median and p90 per inbox to
the second, reasons; through SQL percentiles (PostgreSQL) and the Python fallback (SQLite)."""

import datetime as dt

import pytest
from django.utils import timezone

from conversations import metrics
from tests.console_logs.known_data import PERIOD, day, sec
from tests.factories import EscalationFactory, at

pytestmark = pytest.mark.django_db


def figures(tenant, **kw):
    return metrics.dashboard([tenant.pk], PERIOD, **kw)


def assert_tenant_a_figures(data):
    assert data.now == {"requested": 2, "open": 1, "assigned": 1}
    assert data.statuses == {"requested": 1, "open": 0, "assigned": 1, "closed": 4, "failed": 4}
    assert data.total == 10
    assert data.per_day == [
        (day(1), 2, 0),
        (day(2), 2, 1),
        (day(3), 2, 0),
        (day(4), 0, 0),
        (day(5), 1, 1),
        (day(6), 2, 2),
        (day(7), 1, 0),
    ]
    assert [(r.code, r.count) for r in data.failure_reasons] == [
        ("contact_not_found", 2),
        ("no_agent", 1),
        ("publish_failed", 1),
    ]
    assert [(r.code, r.count) for r in data.close_reasons] == [
        ("agent_closed", 2),
        ("archived", 1),
        ("bot_closed", 1),
    ]
    by_label = {i.label: i for i in data.inboxes}
    assert list(by_label) == ["Sales · Acme portal", "Support · Acme portal", "No inbox"]
    support, sales, none = (
        by_label["Support · Acme portal"],
        by_label["Sales · Acme portal"],
        by_label["No inbox"],
    )
    assert (support.escalations, sales.escalations, none.escalations) == (5, 4, 1)
    # [60, 120, 300, 600]: median (120+300)/2 = 210; p90 at rank 2.7 = 300 + 0.7*300 = 510.
    assert (support.to_assign.count, support.to_assign.median, support.to_assign.p90) == (4, 210, 510)
    # [660, 1200, 3000]: median 1200; p90 at rank 1.8 = 1200 + 0.8*1800 = 2640.
    assert (support.to_close.count, support.to_close.median, support.to_close.p90) == (3, 1200, 2640)
    assert (sales.to_assign.count, sales.to_assign.median, sales.to_assign.p90) == (1, 45, 45)
    assert (sales.to_close.count, sales.to_close.median, sales.to_close.p90) == (1, 600, 600)
    assert (none.to_assign.count, none.to_assign.median, none.to_close.p90) == (0, None, None)


def test_figures_with_python_percentiles(known, tenant_a):
    assert_tenant_a_figures(figures(tenant_a, percentiles="python"))


@pytest.mark.postgres  # percentile_cont is PostgreSQL's
def test_figures_with_sql_percentiles(known, tenant_a):
    assert_tenant_a_figures(figures(tenant_a, percentiles="sql"))


def test_default_picks_the_databases_path(known, tenant_a):
    assert_tenant_a_figures(figures(tenant_a))


def test_other_tenants_escalations_never_count(known, tenant_a, tenant_b):
    b = figures(tenant_b)
    assert b.total == 2 and b.now == {"requested": 0, "open": 0, "assigned": 1}
    assert [(r.code, r.count) for r in b.failure_reasons] == [("connection_error", 1)]
    (desk,) = [i for i in b.inboxes if i.inbox_id]
    assert (desk.label, desk.to_assign.median) == ("Globex desk · Globex portal", 3 * 3600)
    # and A's figures stay exactly A's (asserted in full above, with B's rows present)
    a = figures(tenant_a)
    assert "connection_error" not in {r.code for r in a.failure_reasons}
    assert "Globex desk · Globex portal" not in {i.label for i in a.inboxes}


def test_days_follow_the_current_time_zone(conn_a, tenant_a):
    # 23:30 UTC on 1 Nov is 00:30 on 2 Nov in Paris.
    EscalationFactory(connection=conn_a, created_at=dt.datetime(2026, 11, 1, 23, 30, tzinfo=dt.UTC))
    with timezone.override("Europe/Paris"):
        series = dict((d, n) for d, n, _ in figures(tenant_a).per_day)
    assert (series[day(1)], series[day(2)]) == (0, 1)
    series = dict((d, n) for d, n, _ in figures(tenant_a).per_day)
    assert (series[day(1)], series[day(2)]) == (1, 0)


def test_a_backwards_clock_is_not_a_negative_wait(conn_a, tenant_a):
    start = at(day(2), 9)
    EscalationFactory(
        connection=conn_a, created_at=start, opened_at=start, assigned_at=start - dt.timedelta(minutes=5)
    )
    EscalationFactory(connection=conn_a, created_at=start, opened_at=start, assigned_at=sec(start, 30))
    (inbox,) = figures(tenant_a).inboxes
    assert (inbox.to_assign.count, inbox.to_assign.median) == (1, 30)


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([], 0.5, None),
        ([7], 0.9, 7),
        ([1, 2], 0.5, 1.5),
        ([10, 20, 30, 40, 50], 0.9, 46),
        ([3, 1, 2], 0.5, 2),
    ],
)
def test_percentile_interpolates_like_percentile_cont(values, fraction, expected):
    result = metrics.percentile(values, fraction)
    assert result is None if expected is None else result == pytest.approx(expected)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("", "", (dt.date(2026, 11, 2), dt.date(2026, 12, 1))),
        ("2026-11-10", "2026-11-12", (dt.date(2026, 11, 10), dt.date(2026, 11, 12))),
        ("2026-11-25", "", (dt.date(2026, 11, 25), dt.date(2026, 12, 1))),
        ("", "2026-06-30", (dt.date(2026, 6, 1), dt.date(2026, 6, 30))),
    ],
)
def test_period_parsing(start, end, expected):
    period = metrics.Period.parse(start, end, today=dt.date(2026, 12, 1))
    assert (period.start, period.end) == expected


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-13-01", "", "'from' must be a date written YYYY-MM-DD"),
        ("yesterday", "", "'from' must be a date written YYYY-MM-DD"),
        ("", "01/11/2026", "'to' must be a date written YYYY-MM-DD"),
        ("2026-11-10", "2026-11-01", "is after 'to'"),
        ("2024-01-01", "2026-01-01", "choose at most 366 days"),
    ],
)
def test_period_errors_say_what_to_write(start, end, message):
    with pytest.raises(ValueError, match=message):
        metrics.Period.parse(start, end, today=dt.date(2026, 12, 1))


def test_format_duration():
    assert [metrics.format_duration(s) for s in (None, 12, 210, 2640, 3 * 3600 + 65, 90000)] == [
        "—",
        "12 s",
        "3 min 30 s",
        "44 min 00 s",
        "3 h 01 min",
        "1 d 1 h",
    ]
