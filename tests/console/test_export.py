"""CSV export of the filtered list: parsed back with the csv module."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.http import StreamingHttpResponse

from conversations.admin.escalation_export import HEADERS
from conversations.models import CloseReason, EscalationStatus, FailureReason
from tests.console.conftest import EXPORT_URL
from tests.factories import T0, escalation

pytestmark = pytest.mark.django_db


def export(client, query: str = "") -> list[dict]:
    response = client.get(EXPORT_URL + query)
    assert response.status_code == 200, response.content[:300] if hasattr(response, "content") else ""
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="escalations-' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == HEADERS
    return list(reader)


def test_one_row_per_escalation_with_timings_and_outcome(client, lead_a, inbox_a):
    closed = escalation(
        inbox_a,
        status=EscalationStatus.CLOSED,
        close_reason=CloseReason.AGENT_CLOSED,
        agent_name="Alice Agent",
        agent_email="alice@example.com",
        agent_actor_id="A-1",
        user_name="Ada Lovelace",
        user_phone="+447700900123",
        user_email="ada@example.com",
        conversation_id="conv-77",
        hubspot_thread_id="9876",
        title="Refund",
        created_at=T0,
        opened_at=T0 + dt.timedelta(seconds=2),
        assigned_at=T0 + dt.timedelta(seconds=95),
        closed_at=T0 + dt.timedelta(hours=1, seconds=5),
    )
    failed = escalation(
        inbox_a,
        status=EscalationStatus.FAILED,
        failure_reason=FailureReason.NO_AGENT,
        created_at=T0 - dt.timedelta(hours=1),
        failed_at=T0 - dt.timedelta(minutes=30),
    )
    client.force_login(lead_a)
    rows = {row["escalation_id"]: row for row in export(client)}
    assert set(rows) == {str(closed.pk), str(failed.pk)}
    row = rows[str(closed.pk)]
    assert row["status"] == "closed" and row["close_reason"] == "agent_closed" and row["failure_reason"] == ""
    assert row["created_at"] == "2026-03-02T09:00:00Z"
    assert row["opened_at"] == "2026-03-02T09:00:02Z"
    assert row["assigned_at"] == "2026-03-02T09:01:35Z"
    assert row["closed_at"] == "2026-03-02T10:00:05Z"
    assert row["seconds_to_assign"] == "95"
    assert row["seconds_to_close"] == "3605"
    assert (row["agent"], row["agent_email"]) == ("Alice Agent", "alice@example.com")
    assert (row["inbox"], row["inbox_id"]) == ("Support", str(inbox_a.inbox_id))
    assert row["portal_id"] == str(inbox_a.connection.portal_id)
    assert (row["contact_name"], row["contact_email"]) == ("Ada Lovelace", "ada@example.com")
    assert row["contact_phone"] == "'+447700900123"  # a leading + is a formula to a spreadsheet
    assert (row["conversation_id"], row["hubspot_thread_id"], row["title"]) == ("conv-77", "9876", "Refund")
    row = rows[str(failed.pk)]
    assert row["status"] == "failed" and row["failure_reason"] == "no_agent"
    assert row["seconds_to_assign"] == "" and row["seconds_to_close"] == "1800"
    assert row["closed_at"] == "" and row["failed_at"] == "2026-03-02T08:30:00Z"


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_formula_cells_are_defused(client, lead_a, inbox_a, start):
    escalation(
        inbox_a,
        user_name=f'{start}HYPERLINK("http://evil")',
        title=f"{start}1+1",
        conversation_id=f"{start}cmd",
    )
    client.force_login(lead_a)
    (row,) = export(client)
    assert row["contact_name"] == f'\'{start}HYPERLINK("http://evil")'
    assert row["title"] == f"'{start}1+1"
    assert row["conversation_id"] == f"'{start}cmd"


def test_the_lists_filters_and_search_apply(client, lead_a, inbox_a, inbox_a2):
    a = escalation(inbox_a, status=EscalationStatus.ASSIGNED, user_phone="+447700900123", created_at=T0)
    b = escalation(inbox_a2, status=EscalationStatus.OPEN, created_at=T0 - dt.timedelta(days=3))
    client.force_login(lead_a)
    ids = lambda query: [r["escalation_id"] for r in export(client, query)]  # noqa: E731
    assert ids("?status__exact=assigned") == [str(a.pk)]
    assert ids(f"?inbox={inbox_a2.pk}") == [str(b.pk)]
    assert ids("?created_from=2026-03-01") == [str(a.pk)]
    assert ids("?q=447700900123") == [str(a.pk)]
    assert ids("") == [str(a.pk), str(b.pk)]  # newest first, as listed


def test_only_the_users_tenants_are_exported(client, lead_a, admin_b, inbox_a, inbox_b):
    a = escalation(inbox_a)
    b = escalation(inbox_b)
    client.force_login(lead_a)
    assert [r["escalation_id"] for r in export(client)] == [str(a.pk)]
    client.force_login(admin_b)
    assert [r["escalation_id"] for r in export(client)] == [str(b.pk)]


def test_the_export_link_carries_the_filters(client, lead_a, inbox_a):
    escalation(inbox_a)
    client.force_login(lead_a)
    html = client.get("/admin/conversations/escalation/?status__exact=open&q=abc").content.decode()
    assert f'href="{EXPORT_URL}?status__exact=open&amp;q=abc"' in html
