"""The escalation list's Agent-or-queue column: waiting rows show their place in the inbox's queue and the
estimated wait (conversations/queue.py), other rows a dash; computed for the page, not per row."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conversations.models import EscalationStatus
from tests.console.conftest import LIST_URL
from tests.factories import escalation

pytestmark = pytest.mark.django_db


def queue_cells(html: str) -> list[str]:
    """The Agent-or-queue cell of each row: a waiting row's holds its place in the queue."""
    cells = re.split(r'<td class="field-agent_col[^"]*"[^>]*>', html)[1:]
    return [cell.split("</td>")[0] for cell in cells]


def test_waiting_rows_show_their_place_and_wait(client, lead_a, inbox_a):
    now = timezone.now()
    # History: the inbox assigned its last ten escalations after 4 minutes each.
    for i in range(10):
        started = now - dt.timedelta(days=2, hours=i)
        escalation(
            inbox_a,
            status=EscalationStatus.CLOSED,
            created_at=started,
            assigned_at=started + dt.timedelta(minutes=4),
        )
    escalation(
        inbox_a,
        status=EscalationStatus.OPEN,
        title="first in line",
        created_at=now - dt.timedelta(seconds=20),
    )
    escalation(
        inbox_a,
        status=EscalationStatus.REQUESTED,
        title="second in line",
        created_at=now - dt.timedelta(seconds=10),
    )
    escalation(
        inbox_a,
        status=EscalationStatus.ASSIGNED,
        agent_actor_id="A-1",
        created_at=now - dt.timedelta(seconds=5),
    )
    client.force_login(lead_a)

    html = client.get(LIST_URL).content.decode()
    assert 'data-label="Agent or queue"' in html
    cells = queue_cells(html)  # newest first
    assert "A-1" in cells[0] and "in line" not in cells[0]  # assigned: the agent instead
    assert "2nd in line" in cells[1] and "about 4 minutes" in cells[1]
    assert "1st in line" in cells[2] and "about 4 minutes" in cells[2]
    assert all("in line" not in cell for cell in cells[3:])  # closed


def test_the_column_costs_two_queries_per_inbox_with_someone_waiting(client, lead_a, inbox_a):
    for i in range(3):
        escalation(inbox_a, status=EscalationStatus.OPEN, title=f"w{i}")
    client.force_login(lead_a)
    client.get(LIST_URL)
    with CaptureQueriesContext(connection) as few:
        client.get(LIST_URL)
    for i in range(20):
        escalation(inbox_a, status=EscalationStatus.OPEN, title=f"more{i}")
    with CaptureQueriesContext(connection) as many:
        html = client.get(LIST_URL).content.decode()
    assert "23rd in line" in html
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_live_refreshed_row_keeps_its_queue_cell(client, lead_a, inbox_a):
    from tests.console.test_live import first_cursor, poll

    client.force_login(lead_a)
    since = first_cursor(client)
    escalation(inbox_a, status=EscalationStatus.OPEN, title="ahead")
    waiting = escalation(inbox_a, status=EscalationStatus.OPEN, title="behind")

    rows = {row["id"]: row["html"] for row in poll(client, since)["rows"]}

    assert "2nd in line" in rows[str(waiting.pk)]
