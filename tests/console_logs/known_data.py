"""The known data of the dashboard tests: every time exact, every expected figure worked out by hand
in the comments (tests/console_logs/test_dashboard_metrics.py asserts them)."""

import datetime as dt

from conversations import metrics
from conversations.models import EscalationStatus as S
from tests.factories import EscalationFactory, InboxFactory, at

NOV = dt.date(2026, 11, 1)
PERIOD = metrics.Period(NOV, dt.date(2026, 11, 7))


def day(n: int) -> dt.date:
    return NOV + dt.timedelta(days=n - 1)


def sec(value: dt.datetime, seconds: int) -> dt.datetime:
    return value + dt.timedelta(seconds=seconds)


def build(conn_a, conn_b):
    """Ten escalations of tenant A in the period (two inboxes and none), two outside it, one of B."""
    x = InboxFactory(connection=conn_a, name="Support", inbox_id=111)
    y = InboxFactory(connection=conn_a, name="Sales", inbox_id=222)

    def esc(inbox, created, status, *, opened=None, assign=None, close=None, **extra):
        start = opened or created
        return EscalationFactory(
            connection=conn_a,
            inbox=inbox,
            created_at=created,
            opened_at=opened,
            status=status,
            assigned_at=sec(start, assign) if assign is not None else None,
            closed_at=sec(start, close) if close is not None else None,
            **extra,
        )

    # Inbox X (Support): time to assign 60, 120, 300, 600 s; time to close 660, 1200, 3000 s.
    esc(x, at(day(1), 10), S.CLOSED, opened=at(day(1), 10), assign=60, close=660, close_reason="agent_closed")
    esc(
        x,
        at(day(1), 12),
        S.CLOSED,
        opened=at(day(1), 12, 0, 10),
        assign=120,
        close=1200,
        close_reason="bot_closed",
    )
    esc(x, at(day(3), 9), S.ASSIGNED, opened=at(day(3), 9), assign=300)
    esc(
        x,
        at(day(3), 9, 30),
        S.CLOSED,
        opened=at(day(3), 9, 30),
        assign=600,
        close=3000,
        close_reason="agent_closed",
    )
    esc(
        x,
        at(day(5), 14),
        S.FAILED,
        opened=at(day(5), 14),
        failure_reason="no_agent",
        failed_at=at(day(5), 15),
    )
    # Inbox Y (Sales): no opened_at (measured from created_at): 45 s to assign, 600 s to close.
    esc(y, at(day(2), 8), S.CLOSED, assign=45, close=600, close_reason="archived")
    esc(y, at(day(2), 8, 30), S.FAILED, failure_reason="contact_not_found")
    esc(y, at(day(6), 11), S.FAILED, failure_reason="publish_failed")
    esc(y, at(day(6), 23, 59, 59), S.FAILED, failure_reason="contact_not_found")
    # No inbox, requested on the last day.
    esc(None, at(day(7), 18), S.REQUESTED)
    # Outside the period, one second either side: counted "now" (active), not in the period.
    esc(x, at(NOV, 0) - dt.timedelta(seconds=1), S.OPEN, opened=at(NOV, 0) - dt.timedelta(seconds=1))
    esc(None, at(day(8), 0), S.REQUESTED)
    # Tenant B, inside the period, with figures that would show anywhere they leaked.
    b_inbox = InboxFactory(connection=conn_b, name="Globex desk", inbox_id=333)
    EscalationFactory(
        connection=conn_b,
        inbox=b_inbox,
        created_at=at(day(3), 10),
        opened_at=at(day(3), 10),
        status=S.ASSIGNED,
        assigned_at=at(day(3), 13),
    )
    EscalationFactory(
        connection=conn_b, created_at=at(day(4), 10), status=S.FAILED, failure_reason="connection_error"
    )
    return x, y
