"""A bad date in the escalation list's URL (a bookmark, a hand-edited link) answers a 400 page in
the admin's chrome that names the parameter; from there a person enters a good date, drops the
filter or goes to the unfiltered list without editing the URL."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser import log_in, snap
from tests.factories import ConnectionFactory, InboxFactory, escalation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIST_URL = "/admin/conversations/escalation/"


def test_a_person_corrects_a_bad_date_from_the_400_page(live_server, page, admin_a, tenant_a):
    escalation(
        InboxFactory(connection=ConnectionFactory(tenant=tenant_a, name="Acme")),
        title="ROW-ONE",
        conversation_id="conv-row-one",
    )
    log_in(page, live_server.url, admin_a)

    response = page.goto(f"{live_server.url}{LIST_URL}?created_from=9999-12-31&q=conv-row-one")
    assert response.status == 400
    expect(page).to_have_title(re.compile(r"\| HITL portal$"))  # the admin's chrome, not a bare error line
    expect(page.get_by_role("alert")).to_contain_text("created_from")
    snap(page, "bad-date-400")

    # enter a good date in the page's own field: the list opens with it and the other filters kept
    page.get_by_label("created_from").fill("2020-01-01")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(f"{live_server.url}{LIST_URL}?q=conv-row-one&created_from=2020-01-01")
    expect(page.locator("#result_list")).to_contain_text("ROW-ONE")

    # Back to the 400 page, then the unfiltered list
    page.go_back()
    expect(page.get_by_role("alert")).to_contain_text("created_from")
    page.get_by_role("link", name="Show the unfiltered list").click()
    expect(page).to_have_url(f"{live_server.url}{LIST_URL}")
    expect(page.locator("#result_list")).to_contain_text("ROW-ONE")

    # and the "without it" link keeps the search
    page.goto(f"{live_server.url}{LIST_URL}?created_to=0001-01-05&q=conv-row-one")
    page.get_by_role("link", name="Continue without “created_to”").click()
    expect(page).to_have_url(f"{live_server.url}{LIST_URL}?q=conv-row-one")
