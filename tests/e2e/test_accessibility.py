"""Accessibility, measured: axe-core reports no serious or critical violation on the pages people
use every day, at desktop and phone widths: the admin home, escalation list and page, dashboard,
connection page, webhook log, the sandbox chat page and agent console. Each page is also
screenshotted at 1280 and 390 px into var/screenshots/ for a reviewer."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from connections.models import Connection
from conversations.models import Escalation
from sandbox.models import SandboxContact, SandboxThread
from tenants.models import Role
from tests.accessibility import describe, screenshots, violations
from tests.browser import log_in
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.axe, pytest.mark.django_db(transaction=True)]


def check(page, name: str) -> list[str]:
    """Problems found at both widths (empty when none), after the screenshots."""
    problems = []
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 860})
        found = violations(page)
        if found:
            problems.append(f"{name} at {width} px:\n{describe(found)}")
    page.set_viewport_size({"width": 1280, "height": 860})
    screenshots(page, name)
    return problems


def test_no_serious_or_critical_violations(live_server, e2e_settings, page):
    problems: list[str] = []
    # The sandbox's pages are for signed-in staff (the demo's operator).
    log_in(page, live_server.url, UserFactory(username="demo-staff", is_staff=True, is_superuser=True))
    page.goto(f"{live_server.url}/sandbox/app/chat/")
    page.get_by_role("button", name="Set up the demo bot").click()
    expect(page.get_by_role("status")).to_contain_text("The demo bot is ready")
    ada = SandboxContact.objects.get(email="ada@example.com")
    page.get_by_label(re.compile("^The end user")).select_option(str(ada.pk))
    page.get_by_role("button", name="Escalate to a human").click()
    expect(page.get_by_label("Chat")).to_contain_text("waiting for an agent", timeout=20_000)
    problems += check(page, "chat")

    thread = SandboxThread.objects.get()
    page.goto(f"{live_server.url}/sandbox/app/console/{thread.portal.portal_id}/threads/{thread.pk}/")
    expect(page.get_by_label("Messages")).to_be_visible()
    problems += check(page, "console")

    tenant = Connection.objects.get().tenant
    MembershipFactory(tenant=tenant, user=UserFactory(username="alice"), role=Role.ADMIN)
    page.context.clear_cookies()  # the demo's operator signs out; alice signs in below
    page.goto(f"{live_server.url}/admin/login/")
    problems += check(page, "login")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator('[data-card="waiting"]')).to_be_visible()
    problems += check(page, "home")

    esc = Escalation.objects.get()
    connection = Connection.objects.get()
    for name, path in [
        ("escalation-list", "/admin/conversations/escalation/"),
        ("escalation-detail", f"/admin/conversations/escalation/{esc.pk}/change/"),
        ("dashboard", "/admin/conversations/dashboard/"),
        ("connection", f"/admin/connections/connection/{connection.pk}/change/"),
        ("webhook-log", "/admin/conversations/webhookreceipt/"),
        ("hubspot-events", "/admin/conversations/hubspotevent/"),
    ]:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        problems += check(page, name)
    assert not problems, "\n\n".join(problems)
