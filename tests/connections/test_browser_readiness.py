"""Trust bug: a connect flow that looks green but cannot receive events. After "Connect a HubSpot
portal" → inboxes → register, webhooks are set up as part of the flow where the app allows it,
and the connection's page shows a readiness checklist that is never all-good while a step is
missing; where automation is impossible (no developer API key) the manual steps are offered."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from connections.models import BotApiKey, Connection
from sandbox.console import actions
from sandbox.models import SandboxActor, SandboxThread
from tenants.models import Role
from tests.browser import snap
from tests.e2e.flow import AGENT_ID, wait_for
from tests.factories import HubSpotAppFactory, MembershipFactory, TenantFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def tenant_admin(db):
    tenant = TenantFactory(name="Acme", slug="acme")
    return MembershipFactory(tenant=tenant, user=UserFactory(username="alice"), role=Role.ADMIN).user


def connect_and_register(page, live_server, hubspot, app):
    page.goto(f"{live_server.url}/admin/login/?next=/admin/connections/connection/connect/%3Fapp%3D{app.pk}")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Connect to HubSpot").click()
    page.get_by_label("Install in account").select_option(value=str(hubspot["portal_id"]))
    page.get_by_role("button", name="Connect app").click()
    expect(page.locator(".messagelist")).to_contain_text("Connected HubSpot portal")

    steps = page.locator("#readiness-steps")
    # Connected, but nothing else yet: the page must not look finished.
    expect(page.locator("#readiness-title")).to_have_text(re.compile(r"Set-up: 2 of 7 steps done"))
    expect(page.locator(".field-status_badge")).to_contain_text("set-up incomplete")
    expect(steps.locator('[data-step="inboxes"]')).to_have_attribute("data-state", "missing")

    page.locator("#inboxes").get_by_role("checkbox", name=re.compile(r"Support")).check()
    page.locator("#inboxes").get_by_role("button", name="Add inboxes").click()
    page.get_by_role("button", name="Register channel").click()
    expect(page.locator("#registration-state")).to_have_text("Active", timeout=20_000)
    page.reload()
    return steps


def test_webhooks_are_set_up_in_the_flow_and_ready_only_after_the_first_event(
    live_server, page, hubspot, tenant_admin
):
    app = HubSpotAppFactory(
        tenant=tenant_admin.memberships.get().tenant,
        name="Acme app",
        app_id=hubspot["app_id"],
        client_id=hubspot["client_id"],
        client_secret=hubspot["client_secret"],
        developer_api_key=hubspot["developer_api_key"],
    )
    steps = connect_and_register(page, live_server, hubspot, app)
    for name in ("token", "scopes", "inboxes", "channel", "accounts", "webhooks"):
        expect(steps.locator(f'[data-step="{name}"]')).to_have_attribute("data-state", "done")
    # Nothing has come from HubSpot yet: not "ready", and the badge says so.
    expect(steps.locator('[data-step="first_event"]')).to_have_attribute("data-state", "waiting")
    expect(page.locator("#readiness-title")).to_have_text("Set-up: 6 of 7 steps done")
    expect(page.locator(".field-status_badge")).to_contain_text("set-up incomplete")
    snap(page, "readiness-waiting")

    # A real conversation: HubSpot (the sandbox) signs and sends its events to the app's webhook URL.
    connection = Connection.objects.get()
    _, key = BotApiKey.issue(connection)
    started = requests.post(
        f"{live_server.url}/api/v1/escalations/",
        headers={"Authorization": f"Bearer {key}"},
        json={"conversation_id": "first", "user": {"name": "Ada", "phone": "+447700900001"}, "title": "Hi"},
        timeout=30,
    )
    assert started.status_code == 201, started.text
    thread = wait_for("the thread in HubSpot", lambda: SandboxThread.objects.first())
    actions.assign(thread, SandboxActor.objects.get(portal=thread.portal, actor_id=AGENT_ID))
    from conversations.models import HubSpotEvent

    wait_for("a signed event", lambda: HubSpotEvent.objects.filter(portal_id=connection.portal_id).exists())
    page.reload()
    expect(page.locator("#readiness-title")).to_have_text("Ready: every step is done")
    expect(page.locator(".field-status_badge")).not_to_contain_text("incomplete")
    snap(page, "readiness-ready")


def test_a_platform_apps_webhooks_are_a_manual_step_and_never_green(live_server, page, hubspot, tenant_admin):
    # A platform app (no tenant): its tenants connect through it but may not reconfigure it, so
    # the flow cannot set its webhooks up; the checklist says so and shows the manual steps.
    app = HubSpotAppFactory(
        tenant=None,
        name="Platform app",
        app_id=hubspot["app_id"],
        client_id=hubspot["client_id"],
        client_secret=hubspot["client_secret"],
        developer_api_key=hubspot["developer_api_key"],
    )
    steps = connect_and_register(page, live_server, hubspot, app)
    for name in ("token", "scopes", "inboxes", "channel", "accounts"):
        expect(steps.locator(f'[data-step="{name}"]')).to_have_attribute("data-state", "done")
    webhooks = steps.locator('[data-step="webhooks"]')
    expect(webhooks).to_have_attribute("data-state", "missing")
    expect(webhooks).to_contain_text("To do by hand")
    expect(webhooks).to_contain_text("platform app")
    expect(page.locator("#webhooks-manual")).to_have_attribute("open", "")
    expect(page.locator("#readiness-title")).to_have_text("Set-up: 5 of 7 steps done")
    expect(page.locator(".field-status_badge")).to_contain_text("set-up incomplete")
    snap(page, "readiness-manual")
