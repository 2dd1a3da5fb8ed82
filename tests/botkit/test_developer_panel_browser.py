"""In a browser: the bot owner sends a test event from the connection page and reads the bot's
answer; reloading the result page sends nothing again (POST/redirect/GET); the panel works 390 px wide."""

import pytest
from playwright.sync_api import expect

from connections.models import CallbackSecret, Connection, ConnectionStatus
from tests.connections.test_browser_admin import log_in, tenant_admin  # noqa: F401
from tests.factories import HubSpotAppFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_send_test_event_shows_the_bots_answer(live_server, page, tenant_admin, receiver):  # noqa: F811
    tenant = tenant_admin.memberships.get().tenant
    connection = Connection.objects.create(
        tenant=tenant,
        app=HubSpotAppFactory(tenant=tenant, name="Acme app"),
        name="Acme portal",
        portal_id=7,
        status=ConnectionStatus.DISCONNECTED,
    )
    CallbackSecret.issue(connection)
    page.set_viewport_size({"width": 390, "height": 860})
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/admin/connections/connection/{connection.pk}/change/")

    panel = page.locator("#developer")
    expect(panel.get_by_role("heading", name="For bot developers")).to_be_visible()
    panel.get_by_label("Callback URL").fill(receiver.url)
    button = panel.get_by_role("button", name="Send test event")
    box = button.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, box  # reachable on a phone
    button.click()

    expect(page.locator(".messagelist")).to_contain_text("HTTP 200")
    expect(page.locator(".messagelist")).to_contain_text('{"ok": true}')
    assert page.url.endswith("#developer")
    page.reload()
    page.go_back()
    assert len(receiver.received) == 1
    assert receiver.received[0].json["type"] == "ping"
