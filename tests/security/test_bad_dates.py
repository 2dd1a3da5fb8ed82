"""Date query parameters of the admin (the escalation list's created_from/created_to, its CSV
export and live feed, Django's date filters and date hierarchy on other lists): a value that is not
a date, or lies outside 1970-01-01..2999-12-31, answers 400 naming the parameter, never a list that
silently ignored the bound and never a 500. The 400 page lets the person carry on."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client

from tests.factories import ConnectionFactory, InboxFactory, escalation

LIST_URL = "/admin/conversations/escalation/"
EXPORT_URL = "/admin/conversations/escalation/export.csv"
LIVE_URL = "/admin/conversations/escalation/live/"

BAD_DATES = ["9999-12-31", "0001-01-05", "0001-01-01", "31/12/2026", "2026-13-01", "2026-02-30", "yesterday"]


@pytest.fixture
def admin(admin_a, tenant_a):
    inbox = InboxFactory(connection=ConnectionFactory(tenant=tenant_a, name="Acme"))
    escalation(inbox, title="LISTED-ROW")
    client = Client(raise_request_exception=False)
    client.force_login(admin_a)
    return client


@pytest.mark.parametrize("parameter", ["created_from", "created_to"])
@pytest.mark.parametrize("value", BAD_DATES)
def test_a_bad_bound_on_the_list_is_400_naming_it(admin, parameter, value):
    response = admin.get(LIST_URL, {parameter: value, "status__exact": "open"})

    assert response.status_code == 400
    html = unescape(response.content.decode())
    assert f"“{parameter}”" in html
    assert "LISTED-ROW" not in html  # not a list that quietly dropped the bound
    # inside the admin's chrome, with ways on: the list without it (other filters kept), unfiltered
    assert "HITL portal" in html  # the theme's chrome names the site
    without = re.search(r'id="bad-parameter-without"', html) and re.search(
        r'href="([^"]*)" id="bad-parameter-without"', html
    ).group(1)
    assert without == f"{LIST_URL}?status__exact=open"
    assert f'href="{LIST_URL}" id="bad-parameter-unfiltered"' in html
    assert f'name="{parameter}"' in html  # a form to enter it again


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-05", "not-a-date"])
def test_a_bad_bound_on_the_csv_export_is_400(admin, value):
    for parameter in ("created_from", "created_to"):
        response = admin.get(EXPORT_URL, {parameter: value})
        assert response.status_code == 400, (parameter, value)
        assert not response.get("Content-Disposition")  # no CSV of the whole unfiltered table
        assert parameter in response.content.decode()


def test_a_bad_bound_on_the_live_feed_is_a_json_400(admin):
    response = admin.get(
        LIVE_URL,
        {"since": "2026-01-01T00:00:00Z", "created_to": "9999-12-31"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "bad_parameter" and response.json()["parameter"] == "created_to"


def test_good_bounds_still_filter(admin):
    assert "LISTED-ROW" in admin.get(LIST_URL, {"created_from": "2000-01-01"}).content.decode()
    assert "LISTED-ROW" not in admin.get(LIST_URL, {"created_to": "2000-01-01"}).content.decode()
    assert admin.get(LIST_URL, {"created_from": "", "created_to": ""}).status_code == 200
    assert (
        admin.get(EXPORT_URL, {"created_from": "1970-01-01", "created_to": "2999-12-31"}).status_code == 200
    )


@pytest.mark.parametrize(
    "query",
    [
        {"received_at__gte": "9999-12-31"},
        {"received_at__lt": "0001-01-05"},
        {"received_at__gte": "0001-01-01 00:00:00+00:00"},
        {"received_at__gte": "garbage"},
    ],
)
def test_django_date_filters_refuse_out_of_range_bounds(superuser, query, db):
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    response = client.get("/admin/conversations/webhookreceipt/", query)
    assert response.status_code == 400
    assert next(iter(query)) in unescape(response.content.decode())


def test_django_date_filters_keep_working(superuser, db):
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    page = client.get("/admin/conversations/webhookreceipt/")
    # the "Today" link Django offers still opens
    links = re.findall(r'href="(\?received_at__gte=[^"]+)"', unescape(page.content.decode()))
    assert links
    assert client.get("/admin/conversations/webhookreceipt/" + links[0]).status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        {"created_at__year": "9999"},
        {"created_at__year": "9999", "created_at__month": "12"},
        {"created_at__year": "1", "created_at__month": "1", "created_at__day": "5"},
        {"created_at__year": "2026", "created_at__month": "13"},
    ],
)
def test_the_audit_log_date_hierarchy_refuses_impossible_periods(superuser, query, db):
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    response = client.get("/admin/core/auditlogentry/", query)
    assert response.status_code == 400


def test_a_good_date_hierarchy_period_opens(superuser, db):
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    response = client.get(
        "/admin/core/auditlogentry/", {"created_at__year": "2026", "created_at__month": "3"}
    )
    assert response.status_code == 200


pytestmark = pytest.mark.django_db
