"""A person in a real browser connects a HubSpot portal from the admin, against the sandbox.

The walk of issue 4's "done when": create the app, click Connect, approve on the consent page,
land on the connected connection, pick an inbox, register the channel and see it become active.
Tasks run eagerly (on commit, in the live server's request thread), as under `make run`. A second
test proves the registration panel updates itself, without a reload, while a worker makes progress.

Screenshots go to /tmp/admin-*.png (override the folder with ADMIN_SCREENSHOTS=<dir>).
"""

import os
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from connections.models import (
    ChannelRegistration,
    ConnectedInbox,
    Connection,
    ConnectionStatus,
    CustomChannel,
    HubSpotApp,
    InboxState,
    RegistrationState,
)
from tenants.models import Role
from tests.factories import HubSpotAppFactory, MembershipFactory, TenantFactory, UserFactory


def field_label(name: str) -> re.Pattern:
    """An admin form field's label in the theme: the name, then "*" when the field is required."""
    return re.compile(rf"^\s*{re.escape(name)}\s*\*?\s*$")


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "pw-for-tests"  # tests.factories.UserFactory's


def snap(page, name: str) -> None:
    folder = Path(os.environ.get("ADMIN_SCREENSHOTS", "/tmp"))
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"admin-{name}.png"), full_page=True)


@pytest.fixture
def tenant_admin(db):
    tenant = TenantFactory(name="Acme", slug="acme")
    return MembershipFactory(tenant=tenant, user=UserFactory(username="alice"), role=Role.ADMIN).user


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Operations")).to_be_visible()


def test_admin_connects_a_portal_and_registers_the_channel(live_server, page, hubspot, tenant_admin):
    log_in(page, live_server, "alice")

    # Create the app with the values HubSpot (here: the sandbox) shows for it.
    page.get_by_role("link", name="HubSpot apps").first.click()
    page.get_by_role("link", name="Add HubSpot app").click()
    page.get_by_label(field_label("Name")).fill("Acme HITL app")
    page.get_by_label(field_label("App id")).fill(str(hubspot["app_id"]))
    page.get_by_label(field_label("Client id")).fill(hubspot["client_id"])
    page.get_by_label(field_label("Client secret")).fill(hubspot["client_secret"])
    page.get_by_label(field_label("Developer api key")).fill(hubspot["developer_api_key"])
    snap(page, "1-app-add")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".messagelist")).to_contain_text("Paste the URLs below")
    app = HubSpotApp.objects.get()
    expect(page.locator(".field-redirect_url")).to_contain_text(f"{live_server.url}/oauth/hubspot/callback/")
    expect(page.locator(".field-app_webhook_url")).to_contain_text(str(app.webhook_token))
    assert hubspot["client_secret"] not in page.content()
    snap(page, "2-app-page")

    expect(page.get_by_role("link", name="Connect a portal with this app")).to_have_attribute(
        "href", f"/admin/connections/connection/connect/?app={app.pk}"
    )

    # Connect: the only app and organisation are preselected; HubSpot's consent page comes next.
    page.get_by_role("link", name="Connections", exact=True).first.click()
    page.get_by_role("link", name="Connect a HubSpot portal").click()
    expect(page.get_by_label("HubSpot app:")).to_have_value(str(app.pk))
    snap(page, "3-connect")
    page.get_by_role("button", name="Connect to HubSpot").click()

    expect(page.get_by_role("heading", name="Connect HITL Portal to HubSpot")).to_be_visible()
    page.get_by_label("Install in account").select_option(value=str(hubspot["portal_id"]))
    snap(page, "4-consent")
    page.get_by_role("button", name="Connect app").click()

    # Back on the connected connection.
    expect(page.locator(".messagelist")).to_contain_text(f"Connected HubSpot portal {hubspot['portal_id']}")
    connection = Connection.objects.get()
    assert connection.status == ConnectionStatus.ACTIVE
    assert re.search(rf"/admin/connections/connection/{connection.pk}/change/", page.url)
    expect(page.locator(".field-status_badge")).to_contain_text("Connected")
    snap(page, "5-connected")

    # Pick an inbox from HubSpot's list.
    inboxes = page.locator("#inboxes")
    inboxes.get_by_role("checkbox", name=re.compile(r"Support")).check()
    inboxes.get_by_role("button", name="Add inboxes").click()
    expect(page.locator(".messagelist")).to_contain_text("Added inbox Support")
    row = page.locator('#connected-inboxes tr[data-inbox-id="90000101"]')
    expect(row).to_contain_text("Waiting to connect")

    # Register the channel and watch it become active.
    page.get_by_role("button", name="Register channel").click()
    expect(page.locator("#registration-state")).to_have_text("Active", timeout=20_000)
    expect(row).to_contain_text("Connected")
    channel = CustomChannel.objects.get(app=app)
    inbox = ConnectedInbox.objects.get(connection=connection)
    assert inbox.state == InboxState.ACTIVE and inbox.channel_account_id
    expect(row.locator('[data-field="channel_account_id"]')).to_have_text(inbox.channel_account_id)
    expect(page.locator('#registration [data-field="channel_id"]')).to_have_text(channel.channel_id)
    expect(page.get_by_role("button", name="Re-register channel")).to_be_visible()
    snap(page, "6-registered")

    # Hand a bot its key: shown once, then only its prefix.
    page.get_by_role("button", name="Issue a bot API key").click()
    expect(page.locator(".hitl-secret")).to_contain_text("hitl_")
    plaintext = page.locator(".hitl-secret code").inner_text()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.locator(".hitl-secret").get_by_role("button", name="Copy").click()
    expect(page.locator(".hitl-secret").get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == plaintext
    snap(page, "8-bot-key")
    page.get_by_role("link", name=re.compile("back to the connection")).click()
    expect(page.locator("#api-keys")).to_contain_text(plaintext[:13] + "…")
    assert plaintext not in page.content()

    page.get_by_role("button", name="Check health").click()
    expect(page.locator('#health-checks tr[data-check="token"]')).to_contain_text("OK")
    expect(page.locator('#health-checks tr[data-check="registration"]')).to_contain_text("OK")
    snap(page, "9-health")
    page.get_by_role("link", name="Back to the connection").click()
    page.get_by_role("link", name="Full audit log of this connection").click()
    expect(page.locator("#result_list")).to_contain_text("bot_key.issue")
    expect(page.locator("#result_list")).to_contain_text("channel.register")
    assert plaintext not in page.content()
    snap(page, "10-audit-log")


def test_registration_panel_updates_live_without_reload(live_server, page, tenant_admin):
    tenant = tenant_admin.memberships.get().tenant
    app = HubSpotAppFactory(tenant=tenant, name="Acme app")
    connection = Connection.objects.create(
        tenant=tenant, app=app, name="Acme portal", portal_id=7, status=ConnectionStatus.DISCONNECTED
    )
    ConnectedInbox.objects.create(connection=connection, inbox_id=11, name="Support")
    ChannelRegistration.objects.create(
        connection=connection,
        state=RegistrationState.QUEUED,
        detail="Waiting for a worker to start.",
        requested_at=timezone.now(),
    )
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/admin/connections/connection/{connection.pk}/change/")
    expect(page.locator("#registration-state")).to_have_text("Queued")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads or navigates

    # A worker makes progress...
    ChannelRegistration.objects.filter(connection=connection).update(
        state=RegistrationState.CONNECTING_INBOXES, detail="Connecting inboxes to channel 999."
    )
    expect(page.locator("#registration-state")).to_have_text("Connecting inboxes", timeout=6_000)
    expect(page.locator('#registration [data-field="detail"]')).to_have_text(
        "Connecting inboxes to channel 999."
    )
    snap(page, "7-in-progress")

    # ...and finishes.
    CustomChannel.objects.create(app=app, channel_id="999", webhook_url="https://example.test/hook")
    ConnectedInbox.objects.filter(connection=connection).update(
        state=InboxState.ACTIVE, channel_account_id="acc-1"
    )
    ChannelRegistration.objects.filter(connection=connection).update(
        state=RegistrationState.ACTIVE, detail="Channel 999 connected to 1 inbox.", finished_at=timezone.now()
    )
    expect(page.locator("#registration-state")).to_have_text("Active", timeout=6_000)
    expect(page.locator('tr[data-inbox-id="11"] [data-field="channel_account_id"]')).to_have_text("acc-1")
    expect(page.locator('#registration [data-field="channel_id"]')).to_have_text("999")
    expect(page.get_by_role("button", name="Re-register channel")).to_be_visible()
    expect(page.locator('#registration [data-field="spinner"]')).to_be_hidden()
    assert page.evaluate("window.__sameDocument") is True
