"""The queue's reads (positions, the wait history) are answered from indexes made for them.

A superuser's admin list of open escalations computes the queue of every inbox on the page: on a
million escalations the history read scanned the `created_at` index across all inboxes (0.24 s
per inbox) and the queue read visited every row the inbox ever had, so the page took a second.
Each read is asked here with sequential and bitmap scans and sorts off, so the planner reports
the index it would pick for a large table whatever the few rows a test holds.
"""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conversations.models import EscalationStatus
from conversations.queue import queues_for_page
from tests.factories import InboxFactory, escalation

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def plans_of(queries) -> list[str]:
    plans = []
    with connection.cursor() as cursor:
        # Statistics of this test's rows, not of whatever earlier tests in this database left.
        cursor.execute("ANALYZE conversations_escalation")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        # A few dozen rows sort in no time, so a sort would win here as it does not on a million.
        cursor.execute("SET LOCAL enable_sort = off")
        for query in queries:
            cursor.execute("EXPLAIN " + query["sql"])
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


def test_the_queue_and_the_history_of_an_inbox_are_read_from_their_own_indexes():
    now = timezone.now()
    inbox, other = InboxFactory(), InboxFactory()
    for box in (inbox, other):
        for minutes in range(30):
            started = now - dt.timedelta(hours=2, minutes=minutes)
            escalation(
                box,
                created_at=started,
                status=EscalationStatus.ASSIGNED,
                agent_actor_id="A-1",
                assigned_at=started + dt.timedelta(minutes=3),
            )
    waiting = [
        escalation(inbox, created_at=now - dt.timedelta(minutes=m), status=EscalationStatus.OPEN)
        for m in (9, 5)
    ]

    with CaptureQueriesContext(connection) as ctx:
        queues = queues_for_page(waiting, now=now)
    assert [queues[e.pk]["position"] for e in waiting] == [1, 2]

    escalation_reads = [q for q in ctx.captured_queries if 'FROM "conversations_escalation"' in q["sql"]]
    plans = plans_of(escalation_reads)
    assert len(plans) == 2, [q["sql"] for q in escalation_reads]
    line, history = plans
    assert "escalation_inbox_queue" in line, line
    assert "escalation_inbox_assigned" in history, history
    assert "Sort" not in history, history  # newest first straight from the index
