"""The escalation list: columns, every filter and search form (a row that must appear and one
that must not), tenancy, roles, and a query count that does not grow with the page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations.models import CloseReason, EscalationStatus, FailureReason
from tests.console.conftest import LIST_URL
from tests.factories import T0, escalation

pytestmark = pytest.mark.django_db


def listed(client, query: str = "") -> str:
    response = client.get(LIST_URL + query)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def test_columns_show_status_agent_inbox_contact_ids_link_and_timings(client, lead_a, inbox_a):
    escalation(
        inbox_a,
        status=EscalationStatus.CLOSED,
        title="Refund please",
        user_name="Ada Lovelace",
        user_phone="+447700900123",
        user_email="ada@example.com",
        conversation_id="bot-conv-77",
        hubspot_thread_id="9876",
        agent_name="Alice Agent",
        agent_actor_id="A-1",
        created_at=T0,
        assigned_at=T0 + dt.timedelta(seconds=95),
        closed_at=T0 + dt.timedelta(hours=2, minutes=5),
        close_reason=CloseReason.AGENT_CLOSED,
    )
    client.force_login(lead_a)
    html = listed(client)
    assert 'class="esc-badge esc-closed"' in html and ">Closed</span>" in html
    for text in (
        "Refund please",
        "Ada Lovelace",
        "+447700900123 · ada@example.com",
        "bot-conv-77",
        "Alice Agent",
    ):
        assert text in html
    assert 'title="Support">Support</span>' in html  # the inbox, its thread under it
    portal = inbox_a.connection.portal_id
    assert f'href="/sandbox/app/console/{portal}/threads/9876/"' in html
    assert "1 min 35 s" in html  # time to assign
    assert "2 h 5 min" in html  # time to close


def test_thread_links_to_hubspot_when_the_sandbox_is_off(client, lead_a, inbox_a, settings):
    settings.HUBSPOT_SANDBOX = False
    settings.HUBSPOT_APP_BASE = "https://app.hubspot.com"
    escalation(inbox_a, hubspot_thread_id="9876")
    client.force_login(lead_a)
    portal = inbox_a.connection.portal_id
    assert f'href="https://app.hubspot.com/live-messages/{portal}/inbox/9876"' in listed(client)


@pytest.mark.parametrize(
    ("query", "wanted", "unwanted"),
    [
        ("?status__exact=assigned", {"status": EscalationStatus.ASSIGNED}, {"status": EscalationStatus.OPEN}),
        (
            "?close_reason__exact=bot_closed",
            {"close_reason": CloseReason.BOT_CLOSED},
            {"close_reason": CloseReason.AGENT_CLOSED},
        ),
        (
            "?failure_reason__exact=no_agent",
            {"failure_reason": FailureReason.NO_AGENT},
            {"failure_reason": FailureReason.PUBLISH_FAILED},
        ),
        (
            "?agent=A-7",
            {"agent_actor_id": "A-7", "agent_name": "Ann"},
            {"agent_actor_id": "A-8", "agent_name": "Ben"},
        ),
        (
            "?created_from=2026-03-02&created_to=2026-03-03",
            {"created_at": T0},
            {"created_at": T0 - dt.timedelta(days=1)},
        ),
        (
            "?created_from=2026-03-02",
            {"created_at": T0},
            {"created_at": T0 - dt.timedelta(hours=9, seconds=1)},
        ),
        ("?created_to=2026-03-01", {"created_at": T0 - dt.timedelta(hours=10)}, {"created_at": T0}),
    ],
)
def test_each_filter_keeps_matching_rows_only(client, lead_a, inbox_a, query, wanted, unwanted):
    escalation(inbox_a, title="WANTED-ROW", **wanted)
    escalation(inbox_a, title="UNWANTED-ROW", **unwanted)
    client.force_login(lead_a)
    html = listed(client, query)
    assert "WANTED-ROW" in html
    assert "UNWANTED-ROW" not in html


def test_inbox_and_connection_filters(client, lead_a, inbox_a, inbox_a2):
    escalation(inbox_a, title="IN-SUPPORT")
    escalation(inbox_a2, title="IN-SALES")
    client.force_login(lead_a)
    html = listed(client, f"?inbox={inbox_a2.pk}")
    assert "IN-SALES" in html and "IN-SUPPORT" not in html
    html = listed(client, f"?connection={inbox_a.connection_id}")
    assert "IN-SUPPORT" in html and "IN-SALES" not in html
    assert "IN-SUPPORT" not in listed(client, "?inbox=not-a-number")


def test_filter_choices_list_only_the_users_tenants(client, lead_a, inbox_a, inbox_b):
    escalation(inbox_a, agent_actor_id="A-1", agent_name="Alice Agent")
    escalation(inbox_b, agent_actor_id="B-1", agent_name="Bert Globex")
    client.force_login(lead_a)
    html = listed(client)
    assert f"?inbox={inbox_a.pk}" in html and "Support (" in html
    assert f"?inbox={inbox_b.pk}" not in html and "Helpdesk" not in html
    assert "Acme EU" in html and "Globex via" not in html
    assert "Alice Agent" in html and "Bert Globex" not in html


def test_a_bad_date_is_explained_not_a_crash(client, lead_a, inbox_a):
    # A 400 page naming the parameter, with the way back (tests/security/test_bad_dates.py has more)
    escalation(inbox_a, title="STILL-LISTED")
    client.force_login(lead_a)
    response = client.get(f"{LIST_URL}?created_from=31/12/2026")
    html = response.content.decode()
    assert response.status_code == 400
    assert "is not a date: use the form YYYY-MM-DD" in html
    assert "STILL-LISTED" not in html and 'id="bad-parameter-unfiltered"' in html


@pytest.mark.parametrize(
    "typed",
    ["+447700900123", "+44 7700 900123", "447700900123", "0044 7700 900123", "+44 (7700) 900-123"],
)
def test_search_finds_a_phone_however_it_is_typed(client, lead_a, inbox_a, typed):
    escalation(inbox_a, title="ADA-ROW", user_phone="+447700900123")
    escalation(inbox_a, title="OTHER-ROW", user_phone="+447700900999")
    client.force_login(lead_a)
    html = listed(client, "?q=" + typed.replace("+", "%2B").replace(" ", "+"))
    assert "ADA-ROW" in html
    assert "OTHER-ROW" not in html


@pytest.mark.parametrize(
    ("term", "field", "value"),
    [
        ("Ada@Example.com", "user_email", "ada@example.com"),
        ("bot-conv-42", "conversation_id", "bot-conv-42"),
        ("424242", "hubspot_thread_id", "424242"),
    ],
)
def test_search_by_email_conversation_and_thread_id(client, lead_a, inbox_a, term, field, value):
    escalation(inbox_a, title="FOUND-ROW", **{field: value})
    escalation(inbox_a, title="OTHER-ROW")
    client.force_login(lead_a)
    html = listed(client, f"?q={term}")
    assert "FOUND-ROW" in html
    assert "OTHER-ROW" not in html


def test_search_by_escalation_id(client, lead_a, inbox_a):
    found = escalation(inbox_a, title="FOUND-ROW")
    escalation(inbox_a, title="OTHER-ROW")
    client.force_login(lead_a)
    html = listed(client, f"?q={found.pk}")
    assert "FOUND-ROW" in html and "OTHER-ROW" not in html


def test_another_tenants_escalations_are_not_listed(client, admin_a, lead_a, admin_b, inbox_a, inbox_b):
    escalation(inbox_a, title="ACME-ROW")
    escalation(inbox_b, title="GLOBEX-ROW", user_phone="+447700900555")
    for user in (admin_a, lead_a):
        client.force_login(user)
        html = listed(client)
        assert "ACME-ROW" in html and "GLOBEX-ROW" not in html
        assert "GLOBEX-ROW" not in listed(client, "?q=%2B447700900555")
    client.force_login(admin_b)
    html = listed(client)
    assert "GLOBEX-ROW" in html and "ACME-ROW" not in html


def test_superuser_sees_every_tenant_with_a_tenant_column(client, superuser, inbox_a, inbox_b):
    escalation(inbox_a, title="ACME-ROW")
    escalation(inbox_b, title="GLOBEX-ROW")
    client.force_login(superuser)
    html = listed(client)
    assert "ACME-ROW" in html and "GLOBEX-ROW" in html
    assert "field-tenant_col" in html


def test_a_user_without_a_membership_gets_nothing(client, inbox_a, db):
    from tests.factories import UserFactory

    escalation(inbox_a, title="ACME-ROW")
    client.force_login(UserFactory(username="stranger"))
    assert client.get(LIST_URL).status_code == 403


def test_nobody_adds_or_deletes_escalations_here(client, admin_a, inbox_a):
    esc = escalation(inbox_a)
    client.force_login(admin_a)
    assert client.get(LIST_URL + "add/").status_code == 403
    assert client.get(LIST_URL + f"{esc.pk}/delete/").status_code == 403
    assert 'name="_selected_action"' not in listed(client)  # no bulk actions at all


def test_the_count_is_capped_not_a_full_count(client, lead_a, inbox_a, monkeypatch):
    from conversations.admin import escalation_changelist

    monkeypatch.setattr(escalation_changelist, "COUNT_CAP", 3)
    for _ in range(5):
        escalation(inbox_a)
    client.force_login(lead_a)
    with CaptureQueriesContext(connection) as queries:
        html = listed(client)
    assert "more than 3 escalations" in html
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT 4" in sql for sql in counts), counts


def header_count(html: str) -> str:
    """What the page's header says after its title (the theme's "N results (Show all)")."""
    h1 = re.search(r"<h1\b[^>]*>(.*?)</h1>", html, re.S).group(1)
    count = re.search(r'<span class="font-medium ml-2 text-subtle">(.*?)</span>', h1, re.S)
    return " ".join(count.group(1).split()) if count else ""


@pytest.mark.parametrize("query", ["", "?status__exact=open"])
def test_a_capped_count_is_said_honestly_in_the_header_with_no_show_all(
    client, lead_a, inbox_a, monkeypatch, query
):
    # Given more escalations than the count's cap
    from conversations.admin import escalation_changelist

    monkeypatch.setattr(escalation_changelist, "COUNT_CAP", 3)
    for _ in range(5):
        escalation(inbox_a, status=EscalationStatus.OPEN)
    client.force_login(lead_a)
    # When the list is shown, unfiltered or filtered
    html = listed(client, query)
    # Then the header says "at least the cap", never the cap as the total, and offers no "Show all"
    assert header_count(html) == "3+ results"
    h1 = re.search(r"<h1\b[^>]*>(.*?)</h1>", html, re.S).group(1)
    assert "Show all" not in h1 and 'href="?"' not in h1


def test_an_uncapped_count_keeps_the_themes_header(client, lead_a, inbox_a):
    for _ in range(2):
        escalation(inbox_a, status=EscalationStatus.OPEN)
    escalation(inbox_a, status=EscalationStatus.CLOSED)
    client.force_login(lead_a)
    assert header_count(listed(client)) == ""  # the whole list: nothing to add
    assert header_count(listed(client, "?status__exact=open")) == '2 results (<a href="?">Show all</a>)'


def test_the_capped_label_groups_thousands(rf, lead_a):
    from django.template.loader import render_to_string

    from conversations.admin.escalation_changelist import CappedCountPaginator

    paginator = CappedCountPaginator([], 50)
    paginator.capped = True
    cl = type("ChangeList", (), {"paginator": paginator, "result_count": 10_000, "full_result_count": None})
    request = rf.get("/admin/conversations/escalation/")
    request.user = lead_a
    html = render_to_string("unfold/helpers/welcomemsg.html", {"cl": cl}, request=request)
    assert "10,000+ results" in " ".join(html.split())


def _list_queries(client, n: int, inbox, total: int) -> list[str]:
    for i in range(n):
        escalation(
            inbox,
            status=EscalationStatus.ASSIGNED if i % 2 else EscalationStatus.OPEN,
            agent_actor_id=f"A-{i}",
            agent_name=f"Agent {i}",
            hubspot_thread_id=str(1000 + i),
        )
    with CaptureQueriesContext(connection) as queries:
        html = listed(client)
    assert html.count('class="esc-badge') == total
    return [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize("user_fixture", ["lead_a", "admin_a", "superuser"])
def test_query_count_is_the_same_for_2_and_40_rows(client, request, inbox_a, inbox_a2, user_fixture):
    client.force_login(request.getfixturevalue(user_fixture))
    few = _list_queries(client, 2, inbox_a, total=2)
    many = _list_queries(client, 38, inbox_a2, total=40)
    assert len(few) == len(many), "\n".join(many)
    # And the page's rows come from one JOINed query, not one per row.
    page = [sql for sql in many if sql.startswith('SELECT "conversations_escalation"."id"')]
    assert len(page) == 1 and '"connections_connectedinbox"' in page[0], page
    print(f"changelist queries ({user_fixture}): {len(many)}")


def test_ordering_uses_the_created_at_index(client, lead_a, inbox_a):
    escalation(inbox_a)
    client.force_login(lead_a)
    with CaptureQueriesContext(connection) as queries:
        listed(client)
    page = next(
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith('SELECT "conversations_escalation"."id"')
    )
    assert re.search(r'ORDER BY "conversations_escalation"\."created_at" DESC', page), page


def test_show_all_is_offered_only_on_a_filtered_list(client, lead_a, inbox_a):
    escalation(inbox_a, status=EscalationStatus.OPEN)
    escalation(inbox_a, status=EscalationStatus.CLOSED)
    client.force_login(lead_a)
    assert "Show all" not in client.get("/admin/conversations/escalation/").text
    filtered = client.get("/admin/conversations/escalation/?status__exact=open").text
    assert "1 result" in filtered and "Show all" in filtered
