"""Done-when of the console: a support lead keeps the escalation list open while a bot starts an
escalation (bot API) and an agent takes it (sandbox console); the new row, then its "Assigned"
status, appear without a reload.

Set E2E_SCREENSHOTS=<dir> to keep screenshots of the list and of the escalation's page.
"""

from __future__ import annotations

import io
import json
import re

import pytest
import requests
from django.core.management import call_command
from playwright.sync_api import expect

from connections.models import Connection
from conversations.models import Escalation, EscalationStatus
from sandbox.console import actions
from sandbox.models import SandboxActor, SandboxThread
from tenants.models import Role
from tests.browser import snap
from tests.e2e.flow import AGENT_ID, wait_for
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_support_lead_sees_a_new_escalation_and_its_assignment_live(hubspot, live_server, page):
    out = io.StringIO()
    call_command("provision_connection", "--sandbox", "--json", stdout=out)
    provisioned = json.loads(out.getvalue())
    tenant = Connection.objects.get(pk=provisioned["connection_id"]).tenant
    MembershipFactory(tenant=tenant, user=UserFactory(username="lena"), role=Role.SUPPORT_LEAD)

    page.goto(f"{live_server.url}/admin/login/?next=/admin/conversations/escalation/")
    page.get_by_label("Username").fill("lena")
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("No escalations match.")).to_be_visible()
    expect(page.locator(".esc-live-state")).to_contain_text("Live")
    # A marker that a reload would wipe: everything below must arrive without one.
    page.evaluate("window.__notReloaded = true")

    started = requests.post(
        f"{live_server.url}/api/v1/escalations/",
        headers={"Authorization": f"Bearer {provisioned['bot_api_key']}"},
        json={
            "conversation_id": "live-console-1",
            "user": {"name": "Ada Lovelace", "phone": "+44 7700 900001"},
            "title": "Where is my parcel?",
            "transcript": [{"role": "user", "text": "I need a person."}],
        },
        timeout=30,
    )
    assert started.status_code == 201, started.text
    row = page.locator("#result_list tbody tr", has_text="live-console-1")
    expect(row).to_be_visible(timeout=10_000)
    expect(row).to_contain_text("Ada Lovelace")
    expect(row.locator(".esc-badge")).to_have_text(re.compile("Requested|Open"))

    thread = wait_for("the thread in HubSpot", lambda: SandboxThread.objects.first())
    agent = SandboxActor.objects.get(portal=thread.portal, actor_id=AGENT_ID)
    assert actions.assign(thread, agent)
    wait_for(
        "the escalation assigned",
        lambda: Escalation.objects.filter(status=EscalationStatus.ASSIGNED).exists(),
        timeout=20,
    )
    expect(row.locator(".esc-badge")).to_have_text("Assigned", timeout=10_000)
    expect(row).to_contain_text("Alice Agent")
    assert page.evaluate("window.__notReloaded === true"), "the list was reloaded"
    assert page.locator("#result_list tbody tr").count() == 1
    snap(page, "console-list")

    row.get_by_role("link", name="Where is my parcel?").click()
    expect(page.get_by_role("heading", name="Transcript")).to_be_visible()
    expect(page.locator(".esc-timeline")).to_contain_text("Bot start: POST /api/v1/escalations/")
    expect(page.locator(".esc-timeline")).to_contain_text("Assigned to Alice Agent")
    assert page.locator(".esc-actions").count() == 0  # a support lead gets no buttons
    snap(page, "console-detail")
