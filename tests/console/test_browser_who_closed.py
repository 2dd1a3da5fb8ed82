"""Trust bug: who closed it. An admin closing from the console is recorded as "Closed by <admin>",
not "by the bot"; the end user ending the chat, the bot, the agent and the assignment timeout are
distinct on the detail page, in the CSV export and on the dashboard."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from conversations import escalations, lifecycle
from conversations.models import CloseReason, EscalationStatus, FailureReason
from tests.browser import snap
from tests.console.conftest import EXPORT_URL, LIST_URL
from tests.factories import escalation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, base, username, next_url):
    page.goto(f"{base}/admin/login/?next={quote(next_url)}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()


def test_an_admins_close_names_the_admin_everywhere(live_server, page, admin_a, inbox_a):
    admin_a.first_name, admin_a.last_name = "Alice", "Admin"
    admin_a.save()
    now = timezone.now()
    mine = escalation(inbox_a, title="Closed from the console", status=EscalationStatus.OPEN, opened_at=now)
    by_user = escalation(inbox_a, title="User left", status=EscalationStatus.OPEN, opened_at=now)
    escalations.close(by_user, reason=CloseReason.USER_ENDED)
    by_bot = escalation(inbox_a, title="Bot finished", status=EscalationStatus.OPEN, opened_at=now)
    escalations.close(by_bot)
    by_agent = escalation(inbox_a, title="Agent done", status=EscalationStatus.OPEN, opened_at=now)
    lifecycle.mark_assigned(by_agent, actor_id="A-1", name="Alice Agent")
    lifecycle.mark_closed(by_agent, reason=CloseReason.AGENT_CLOSED)
    timed_out = escalation(inbox_a, title="Nobody came", status=EscalationStatus.OPEN, opened_at=now)
    lifecycle.mark_failed(timed_out, reason=FailureReason.NO_AGENT, message="No agent within 10 minutes.")

    log_in(page, live_server.url, "alice", f"/admin/conversations/escalation/{mine.pk}/change/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Close escalation").click()
    expect(page.locator(".messagelist")).to_contain_text("Closed the escalation")
    expect(page.locator('[data-field="ended-by-fact"]')).to_have_text("Closed by Alice Admin (alice)")
    expect(page.locator(".esc-timeline")).to_contain_text("Closed by Alice Admin (alice)")
    snap(page, "who-closed-detail")

    page.goto(f"{live_server.url}{LIST_URL}")
    for title, wording in [
        ("Closed from the console", "Closed by Alice Admin (alice)"),
        ("User left", "End user ended the chat"),
        ("Bot finished", "Closed by the bot"),
        ("Agent done", "Closed by the agent (Alice Agent)"),
        ("Nobody came", "Assignment timeout (no agent in time)"),
    ]:
        expect(page.locator("#result_list tbody tr", has_text=title).locator(".esc-ended-by")).to_have_text(
            wording
        )

    exported = page.request.get(f"{live_server.url}{EXPORT_URL}")
    assert exported.ok
    rows = {row["title"]: row for row in csv.DictReader(io.StringIO(exported.text()))}
    assert rows["Closed from the console"]["ended_by"] == "Closed by Alice Admin (alice)"
    assert rows["Closed from the console"]["closed_by"] == "alice"
    assert rows["Closed from the console"]["close_reason"] == "admin_closed"
    assert rows["User left"]["close_reason"] == "user_ended"
    assert rows["Bot finished"]["ended_by"] == "Closed by the bot" and rows["Bot finished"]["closed_by"] == ""
    assert rows["Nobody came"]["ended_by"] == "Assignment timeout (no agent in time)"

    page.goto(f"{live_server.url}/admin/conversations/dashboard/")
    endings = page.locator("#ending-table")
    for code, label in [
        ("admin_closed", "Closed by an admin"),
        ("user_ended", "End user ended the chat"),
        ("bot_closed", "Closed by the bot"),
        ("agent_closed", "Closed by the agent"),
        ("no_agent", "Assignment timeout (no agent in time)"),
    ]:
        row = endings.locator(f'tr[data-ending="{code}"]')
        expect(row).to_contain_text(label)
        expect(row.locator("td").nth(1)).to_have_text("1")
    snap(page, "who-closed-dashboard")
    endings.get_by_role("link", name="Closed by an admin").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list tbody tr")).to_contain_text("Closed from the console")
