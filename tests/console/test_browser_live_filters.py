"""Trust bug: the live list under a filter. On "status: open", a row that gets assigned must not
keep showing "Open" with no agent until a reload: it updates and is marked as no longer matching;
a row that enters the filtered set appears. The same holds for a search."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from conversations import lifecycle
from conversations.models import EscalationStatus
from tests.browser import snap
from tests.console.conftest import LIST_URL
from tests.factories import escalation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, base, username, next_url):
    page.goto(f"{base}/admin/login/?next={quote(next_url)}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()


def test_rows_leaving_and_entering_a_status_filter_update_live(live_server, page, lead_a, inbox_a):
    now = timezone.now()
    leaving = escalation(inbox_a, title="Will be taken", status=EscalationStatus.OPEN, opened_at=now)
    escalation(inbox_a, title="Still waiting", status=EscalationStatus.OPEN, opened_at=now)
    login(page, live_server.url, "lena", f"{LIST_URL}?status__exact=open")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator('[data-field="result-count"]')).to_have_text("2 escalations")
    page.evaluate("window.__notReloaded = true")

    lifecycle.mark_assigned(leaving, actor_id="A-1", name="Alice Agent")
    row = rows.filter(has_text="Will be taken")
    expect(row.locator(".esc-badge")).to_have_text("Assigned", timeout=10_000)
    expect(row).to_contain_text("Alice Agent")
    expect(row.locator(".esc-left-note")).to_have_text("No longer matches")
    expect(page.locator('[data-field="result-count"]')).to_have_text("1 escalation")
    # The row that still matches is untouched.
    expect(rows.filter(has_text="Still waiting").locator(".esc-left-note")).to_have_count(0)

    entering = escalation(inbox_a, title="New arrival", status=EscalationStatus.REQUESTED)
    lifecycle.mark_open(entering, thread_id="9001")
    expect(rows.filter(has_text="New arrival").locator(".esc-badge")).to_have_text("Open", timeout=10_000)
    expect(page.locator('[data-field="result-count"]')).to_have_text("2 escalations")
    assert page.evaluate("window.__notReloaded === true"), "the list was reloaded"
    snap(page, "live-filter")

    page.reload()
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Will be taken")).to_have_count(0)


def test_a_row_leaving_a_search_is_marked(live_server, page, lead_a, inbox_a):
    esc = escalation(inbox_a, title="Parcel", status=EscalationStatus.OPEN, user_phone="+447700900555")
    login(page, live_server.url, "lena", f"{LIST_URL}?q=%2B447700900555&status__exact=open")
    row = page.locator("#result_list tbody tr", has_text="Parcel")
    expect(row).to_be_visible()
    lifecycle.mark_closed(esc, reason="agent_closed")
    expect(row.locator(".esc-badge")).to_have_text("Closed", timeout=10_000)
    expect(row.locator(".esc-left-note")).to_be_visible()
