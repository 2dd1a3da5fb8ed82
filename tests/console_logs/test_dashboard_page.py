"""The dashboard page: who sees which tenant, the period, what is rendered (charts and tables)."""

import re

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tenants.models import Role
from tests.factories import EscalationFactory, InboxFactory, MembershipFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/admin/conversations/dashboard/"
NOV = {"from": "2026-11-01", "to": "2026-11-07"}


def test_url_is_the_admin_dashboard():
    assert reverse("admin:conversations_dashboard") == URL


def test_lead_sees_their_tenants_figures(client, lead_a, known):
    client.force_login(lead_a)
    response = client.get(URL, NOV)
    assert response.status_code == 200
    html = response.text
    assert "Dashboard · Acme" in html
    data = response.context["data"]
    assert data.total == 10 and data.statuses["failed"] == 4
    rows = {row["label"]: row for row in response.context["inbox_rows"]}
    support = rows["Support · Acme portal"]
    assert (support["assign_median"], support["assign_p90"]) == ("3 min 30 s", "8 min 30 s")
    assert (support["close_median"], support["close_p90"]) == ("20 min 00 s", "44 min 00 s")
    # the same figures as printed in the table, next to the charts
    assert "<td>3 min 30 s</td><td>8 min 30 s</td>" in html
    assert "No HubSpot contact matches the user</td><td>2</td>" in html
    # accessible inline SVG charts: named and described, one per figure
    titles = re.findall(
        r'<svg class="hitl-chart" role="img" aria-labelledby="[^"]+"[^>]*><title id="[^"]+">([^<]+)<', html
    )
    assert titles == [
        "Escalations per day",
        "Time to assign per inbox",
        "Time to close per inbox",
        "Failure reasons",
        "Close reasons",
    ]
    assert "<desc" in html and "Support · Acme portal: median 3 min 30 s, 90th percentile 8 min 30 s" in html
    # The charts are SVG: no script of the page's own (the theme's come from its static files).
    after = html.split('id="content-main"')[1]
    assert all(src.startswith("/static/unfold/") for src in re.findall(r'<script[^>]*src="([^"]+)"', after))
    assert "<script>" not in after


def test_another_tenants_figures_never_show(client, lead_a, known):
    client.force_login(lead_a)
    html = client.get(URL, NOV).text
    assert "Globex" not in html
    assert "The HubSpot connection is not usable" not in html  # B's failure reason


def test_other_tenants_slug_is_404_for_a_non_member(client, lead_a, admin_b, known):
    client.force_login(lead_a)
    assert client.get(URL, {"tenant": "globex", **NOV}).status_code == 404
    assert client.get(URL, {"tenant": "no-such-org"}).status_code == 404
    client.force_login(admin_b)
    response = client.get(URL, NOV)
    assert response.context["tenant"].slug == "globex" and response.context["data"].total == 2
    assert client.get(URL, {"tenant": "acme"}).status_code == 404


def test_member_of_several_tenants_gets_a_selector(client, tenant_a, tenant_b, known):
    user = UserFactory(username="multi")
    MembershipFactory(tenant=tenant_a, user=user, role=Role.SUPPORT_LEAD)
    MembershipFactory(tenant=tenant_b, user=user, role=Role.ADMIN)
    client.force_login(user)
    response = client.get(URL, NOV)
    assert response.context["tenant"].slug == "acme"  # the first by name
    assert '<select name="tenant"' in response.text
    assert '<option value="globex">Globex</option>' in response.text
    assert client.get(URL, {"tenant": "globex", **NOV}).context["data"].total == 2


def test_superuser_may_pick_any_tenant(client, superuser, known):
    other = TenantFactory(name="Zeta", slug="zeta")
    client.force_login(superuser)
    response = client.get(URL, {"tenant": "globex", **NOV})
    assert response.status_code == 200 and response.context["data"].total == 2
    assert f'<option value="{other.slug}">' in response.text
    assert client.get(URL, {"tenant": "zeta"}).context["data"].total == 0


def test_single_tenant_member_has_no_selector(client, lead_a, known):
    client.force_login(lead_a)
    response = client.get(URL, NOV)
    assert '<select name="tenant"' not in response.text
    assert '<input type="hidden" name="tenant" value="acme">' in response.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-11-31"}, "&#x27;from&#x27; must be a date written YYYY-MM-DD"),
        ({"from": "2026-11-07", "to": "2026-11-01"}, "is after &#x27;to&#x27;"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "choose at most 366 days"),
    ],
)
def test_bad_period_is_a_400_that_says_what_to_write(client, lead_a, params, message):
    client.force_login(lead_a)
    response = client.get(URL, params)
    assert response.status_code == 400
    assert message in response.text


def test_default_period_is_the_last_30_days(client, lead_a):
    client.force_login(lead_a)
    period = client.get(URL).context["period"]
    assert period.days == 30


def test_people_without_a_tenant_are_refused(client, db):
    client.force_login(UserFactory(username="staffer"))  # staff, no membership
    assert client.get(URL).status_code == 403
    client.logout()
    response = client.get(URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_linked_from_the_admin_index(client, lead_a):
    client.force_login(lead_a)
    html = client.get(reverse("admin:index")).text
    assert re.search(rf'<a href="{URL}"[^>]*>[^<]*(<span[^>]*>[^<]*</span>)?\s*Dashboard\s*</a>', html)
    client.force_login(UserFactory(username="staffer"))
    assert URL not in client.get(reverse("admin:index")).text


def test_names_are_escaped_in_charts_and_tables(client, lead_a, conn_a):
    inbox = InboxFactory(connection=conn_a, name="<img src=x onerror=alert(1)>")
    now = timezone.now()
    EscalationFactory(connection=conn_a, inbox=inbox, opened_at=now, assigned_at=now, status="assigned")
    client.force_login(lead_a)
    html = client.get(URL).text
    assert "Time to assign per inbox" in html  # the chart that prints the name is there
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_dashboard_query_count_does_not_grow_with_the_data(client, lead_a, conn_a):
    def page_queries() -> int:
        with CaptureQueriesContext(db_connection) as captured:
            assert client.get(URL).status_code == 200
        return len(captured)

    def add(n: int) -> None:
        for _ in range(n):
            inbox = InboxFactory(connection=conn_a)
            now = timezone.now()
            EscalationFactory(
                connection=conn_a,
                inbox=inbox,
                opened_at=now,
                assigned_at=now,
                closed_at=now,
                status="closed",
                close_reason="agent_closed",
            )
            EscalationFactory(connection=conn_a, inbox=inbox, status="failed", failure_reason="no_agent")

    client.force_login(lead_a)
    add(2)
    few = page_queries()
    add(20)
    assert page_queries() == few
