"""The list's live feed: rows created or changed after the cursor, with the page's filters, the
user's tenants only, and one escalation query per poll whatever the number of rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conversations import lifecycle
from conversations.admin.escalation_display import iso
from conversations.models import Escalation, EscalationStatus
from tests.console.conftest import LIVE_URL
from tests.factories import escalation

pytestmark = pytest.mark.django_db


def poll(client, since: str, query: str = "") -> dict:
    response = client.get(f"{LIVE_URL}?since={since.replace('+', '%2B')}{query}")
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/json"
    return response.json()


def first_cursor(client) -> str:
    body = client.get(LIVE_URL).json()
    assert body["rows"] == []
    return body["cursor"]


def backdate(esc, seconds: int = 60):
    Escalation.objects.filter(pk=esc.pk).update(updated_at=timezone.now() - dt.timedelta(seconds=seconds))


def test_the_live_url_is_the_named_admin_url():
    from django.urls import reverse

    assert reverse("admin:conversations_escalation_live") == LIVE_URL


def test_a_new_escalation_appears_after_the_cursor(client, lead_a, inbox_a):
    old = escalation(inbox_a, title="OLD-ROW")
    backdate(old)
    client.force_login(lead_a)
    cursor = first_cursor(client)
    assert poll(client, cursor)["rows"] == []

    new = escalation(inbox_a, title="NEW-ROW", status=EscalationStatus.REQUESTED)
    body = poll(client, cursor)
    assert [row["id"] for row in body["rows"]] == [str(new.pk)]
    row = body["rows"][0]
    assert row["status"] == "requested"
    assert "NEW-ROW" in row["html"] and 'class="esc-badge esc-requested"' in row["html"]
    assert row["html"].startswith("<td") and "<tr" not in row["html"]
    assert body["cursor"] >= cursor and body["more"] is False and body["poll_ms"] == 3000


def test_a_status_change_appears_with_its_agent(client, lead_a, inbox_a):
    esc = escalation(inbox_a, status=EscalationStatus.OPEN, opened_at=timezone.now())
    backdate(esc)
    client.force_login(lead_a)
    cursor = first_cursor(client)
    lifecycle.mark_assigned(esc, actor_id="A-1001", name="Alice Agent")
    rows = poll(client, cursor)["rows"]
    assert [r["id"] for r in rows] == [str(esc.pk)]
    assert rows[0]["status"] == "assigned"
    assert "Alice Agent" in rows[0]["html"] and "esc-assigned" in rows[0]["html"]
    assert rows[0]["version"] == iso(Escalation.objects.get(pk=esc.pk).updated_at)


def test_the_cursor_moves_on(client, lead_a, inbox_a):
    client.force_login(lead_a)
    cursor = first_cursor(client)
    esc = escalation(inbox_a)
    backdate(esc, seconds=-0)  # updated now
    body = poll(client, cursor)
    assert body["cursor"] == iso(Escalation.objects.get(pk=esc.pk).updated_at)
    # Nothing changed since: the overlap may repeat the row (same version), never a new one.
    again = poll(client, body["cursor"])
    assert all(r["version"] == body["rows"][0]["version"] for r in again["rows"])


def test_another_tenants_rows_never_appear(client, lead_a, admin_b, inbox_a, inbox_b):
    client.force_login(lead_a)
    cursor = first_cursor(client)
    mine = escalation(inbox_a)
    escalation(inbox_b, title="GLOBEX-ROW")
    rows = poll(client, cursor)["rows"]
    assert [r["id"] for r in rows] == [str(mine.pk)]
    client.force_login(admin_b)
    rows = poll(client, cursor)["rows"]
    assert len(rows) == 1 and "GLOBEX-ROW" in rows[0]["html"]


def test_the_pages_filters_and_search_apply(client, lead_a, inbox_a, inbox_a2):
    client.force_login(lead_a)
    cursor = first_cursor(client)
    support = escalation(inbox_a, status=EscalationStatus.ASSIGNED, user_phone="+447700900123")
    sales = escalation(inbox_a2, status=EscalationStatus.OPEN)
    ids = lambda query: [r["id"] for r in poll(client, cursor, query)["rows"] if r["matches"]]  # noqa: E731
    assert ids("&status__exact=assigned") == [str(support.pk)]
    assert ids(f"&inbox={inbox_a2.pk}") == [str(sales.pk)]
    assert ids("&q=%2B44+7700+900123") == [str(support.pk)]
    assert ids("&q=nothing-matches") == []
    # The others come back marked, so a page showing them can tell they left its set.
    rows = {r["id"]: r for r in poll(client, cursor, "&status__exact=assigned")["rows"]}
    assert rows[str(sales.pk)]["matches"] is False and rows[str(support.pk)]["matches"] is True


def test_a_row_that_leaves_the_filter_comes_back_marked(client, lead_a, inbox_a):
    esc = escalation(inbox_a, status=EscalationStatus.OPEN, opened_at=timezone.now())
    backdate(esc)
    client.force_login(lead_a)
    cursor = first_cursor(client)
    lifecycle.mark_assigned(esc, actor_id="A-1001", name="Alice Agent")
    rows = poll(client, cursor, "&status__exact=open")["rows"]
    assert [(r["id"], r["status"], r["matches"]) for r in rows] == [(str(esc.pk), "assigned", False)]
    assert "Alice Agent" in rows[0]["html"]


def test_a_bad_cursor_is_a_400_that_says_what_to_send(client, lead_a):
    client.force_login(lead_a)
    response = client.get(LIVE_URL + "?since=yesterday")
    assert response.status_code == 400
    assert "since" in response.json()["message"]


def test_anonymous_and_tenantless_users_get_nothing(client, inbox_a):
    from tests.factories import UserFactory

    escalation(inbox_a)
    response = client.get(LIVE_URL + "?since=2020-01-01T00:00:00Z")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(UserFactory(username="stranger"))
    assert client.get(LIVE_URL + "?since=2020-01-01T00:00:00Z").status_code == 403


def _live_queries(client, since, inbox, n):
    for i in range(n):
        escalation(inbox, agent_actor_id=f"A-{i}", agent_name=f"Agent {i}", hubspot_thread_id=str(100 + i))
    with CaptureQueriesContext(connection) as queries:
        body = poll(client, since)
    return body, [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize("user_fixture", ["lead_a", "superuser"])
def test_one_escalation_query_per_poll_for_2_and_40_rows(client, request, inbox_a, user_fixture):
    client.force_login(request.getfixturevalue(user_fixture))
    since = iso(timezone.now() - dt.timedelta(minutes=5))
    few_body, few = _live_queries(client, since, inbox_a, 2)
    many_body, many = _live_queries(client, since, inbox_a, 38)
    assert len(few_body["rows"]) == 2 and len(many_body["rows"]) == 40
    assert len(few) == len(many), "\n".join(many)
    on_escalations = [sql for sql in many if '"conversations_escalation"' in sql]
    assert len(on_escalations) == 1, on_escalations
    assert '"updated_at" >' in on_escalations[0] and "LIMIT 101" in on_escalations[0]
    # The rest: the session, the user, and which tenants (memberships) and connections are theirs.
    others = [sql for sql in many if sql not in on_escalations]
    lookups = ("django_session", "auth_user", "tenants_membership", '"connections_connection"')
    assert all(any(table in sql for table in lookups) for sql in others), others
    print(f"live queries ({user_fixture}): {len(many)}")
