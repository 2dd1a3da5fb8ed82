"""A person in a real browser: installing an app on the consent page, and handling a conversation
in the agent console, checked on screen and on the wire (signed webhooks at a real receiver).

Set SANDBOX_UI_SCREENSHOTS=<dir> to keep screenshots of each page.
"""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from hubspot.utils.oauth import get_auth_url
from playwright.sync_api import expect

from sandbox.models import (
    SandboxAuthCode,
    SandboxBehaviour,
    SandboxMessage,
    SandboxPortal,
    SandboxWebhookDelivery,
)
from tests.browser import snap as screenshot
from tests.sandbox_ui.receiver import signature_valid
from tests.sandbox_ui.world import CLIENT_SECRET, build_world, make_png

pytestmark = pytest.mark.browser
PNG = make_png()


def snap(page, name):
    screenshot(page, name, "SANDBOX_UI_SCREENSHOTS")


def consent_url(live_server, world, redirect_uri, state="csrf-state-123"):
    url = get_auth_url(
        client_id=world.app.client_id,
        redirect_uri=redirect_uri,
        scope=("oauth", "conversations.read", "conversations.custom_channels.write"),
        optional_scope=("crm.objects.contacts.read",),
        state=state,
    )
    return url.replace("https://app.hubspot.com", f"{live_server.url}/sandbox/app")


@pytest.fixture
def installable(transactional_db, receiver):
    world = build_world(with_thread=False, installed=False)
    world.app.redirect_urls = [receiver.url("/oauth-callback")]
    world.app.save()
    SandboxPortal.objects.create(portal_id=99001, name="Globex", hub_domain="globex.example.com")
    return world


def test_person_approves_the_app_and_lands_on_the_redirect_uri_with_a_code(
    live_server, page, receiver, installable
):
    page.goto(consent_url(live_server, installable, receiver.url("/oauth-callback")))
    expect(page.get_by_role("heading", name="Connect HITL Portal to HubSpot")).to_be_visible()
    scopes = page.get_by_role("list", name="Requested scopes")
    expect(scopes).to_contain_text("conversations.custom_channels.write")
    expect(scopes).to_contain_text("crm.objects.contacts.read")
    page.get_by_label("Install in account").select_option(label="Globex (99001)")
    page.get_by_label("Signed in as (HubSpot user email)").fill("ops@globex.example.com")
    snap(page, "consent")
    page.get_by_role("button", name="Connect app").click()

    expect(page.get_by_role("heading", name="Back at the app")).to_be_visible()
    landed = urlsplit(page.url)
    assert f"{landed.scheme}://{landed.netloc}{landed.path}" == receiver.url("/oauth-callback")
    query = parse_qs(landed.query)
    assert query["state"] == ["csrf-state-123"]
    (callback,) = receiver.wait_for(1, path="/oauth-callback", method="GET")
    assert callback.query == query
    code = SandboxAuthCode.objects.get(code=query["code"][0])
    assert code.portal.portal_id == 99001 and code.app == installable.app
    assert code.user_email == "ops@globex.example.com"
    assert "crm.objects.contacts.read" in code.scopes


def test_person_denies_the_app(transactional_db, live_server, page, receiver, installable):
    page.goto(consent_url(live_server, installable, receiver.url("/oauth-callback"), state="s-9"))
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_role("heading", name="Back at the app")).to_be_visible()
    query = parse_qs(urlsplit(page.url).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["s-9"]
    assert "code" not in query and query["error_description"]
    assert not SandboxAuthCode.objects.exists()


def test_bad_authorize_link_shows_an_error_page(transactional_db, live_server, page, receiver, installable):
    response = page.goto(consent_url(live_server, installable, "https://elsewhere.example.com/cb"))
    assert response.status == 400
    expect(page.get_by_role("heading", name="This app can't be connected")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("does not match any redirect URL")
    snap(page, "consent-error")


def test_person_handles_a_conversation_in_the_console(transactional_db, live_server, page, receiver):
    world = build_world(
        app_webhook_url=receiver.url("/app-hook"), channel_webhook_url=receiver.url("/channel-hook")
    )
    receiver.wait_for(1, path="/app-hook")  # the visitor's first message: creation + newMessage
    thread = world.thread

    page.goto(f"{live_server.url}/sandbox/app/console/")
    snap(page, "console-home")
    page.get_by_role("link", name=re.compile("Acme Support")).click()
    row = page.locator(f"tr[data-thread='{thread.pk}']")
    expect(row).to_contain_text("Vera")
    expect(row).to_contain_text("Hi, I need a human please")
    expect(row).to_contain_text("Unassigned")
    expect(row.locator(".pill")).to_have_text("open")
    snap(page, "console-inbox")
    row.click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Vera")
    messages = page.locator("#messages")
    expect(messages.locator(".msg.incoming")).to_contain_text("Hi, I need a human please")

    # Assign to Bob (the person acts as Alice, the first agent).
    page.get_by_label("Assign to").select_option("A-102")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Assigned to Bob Agent (A-102).")
    expect(page.locator("#thread-assignee")).to_have_text("Bob Agent")

    # Reply with text and a picture.
    page.get_by_role("textbox", name=re.compile("^Reply")).fill("Hello Vera, Alice here. See the picture.")
    page.get_by_label("Attach a file").set_input_files(
        files=[{"name": "steps.png", "mimeType": "image/png", "buffer": PNG}]
    )
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_role("status")).to_contain_text("Reply sent.")
    outgoing = messages.locator(".msg.outgoing")
    expect(outgoing).to_contain_text("Hello Vera, Alice here. See the picture.")
    expect(outgoing).to_contain_text("Alice Agent")
    image = outgoing.get_by_role("img", name="steps.png")
    expect(image).to_be_visible()
    # Visible is not loaded: wait for the picture itself, then check the file really is served.
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert image.evaluate("img => img.naturalWidth") == 160
    snap(page, "console-thread")

    # Close, then reopen.
    page.get_by_role("button", name="Close conversation").click()
    expect(page.locator("#thread-status")).to_have_text("closed")
    page.get_by_role("button", name="Reopen conversation").click()
    expect(page.locator("#thread-status")).to_have_text("open")

    # A new visitor message appears without reloading the page.
    world.visitor_writes("Thanks, that helped!")
    expect(messages.locator(".msg.incoming").last).to_contain_text("Thanks, that helped!", timeout=9000)

    # What went over the wire, in order, every POST signed with the app's client secret.
    app_posts = receiver.wait_for(6, path="/app-hook")
    channel_posts = receiver.wait_for(1, path="/channel-hook")
    assert all(signature_valid(p, CLIENT_SECRET) for p in app_posts + channel_posts)
    summary = [
        [(e["subscriptionType"], e.get("propertyName"), e.get("propertyValue")) for e in p.json]
        for p in app_posts
    ]
    assert summary == [
        [("conversation.creation", None, None), ("conversation.newMessage", None, None)],
        [("conversation.propertyChange", "assignedTo", "A-102")],
        [("conversation.newMessage", None, None)],
        [("conversation.propertyChange", "status", "CLOSED")],
        [("conversation.propertyChange", "status", "OPEN")],
        [("conversation.newMessage", None, None)],
    ]
    assert {e["objectId"] for p in app_posts for e in p.json} == {thread.pk}
    reply = SandboxMessage.objects.get(direction="OUTGOING")
    assert app_posts[2].json[0]["messageId"] == reply.message_id
    (channel_post,) = channel_posts
    event = channel_post.json
    assert event["type"] == "OUTGOING_CHANNEL_MESSAGE_CREATED"
    assert event["channelIntegrationThreadIds"] == ["conv-1"]
    assert event["message"]["id"] == reply.message_id
    assert event["message"]["text"] == "Hello Vera, Alice here. See the picture."
    assert event["message"]["senders"][0]["actorId"] == "A-101"
    assert event["message"]["attachments"][0]["fileUsageType"] == "IMAGE"
    assert SandboxWebhookDelivery.objects.filter(status="delivered").count() == 7

    # The deliveries page shows them.
    page.get_by_role("link", name="Webhook deliveries").click()
    table = page.get_by_role("table", name="Deliveries")
    expect(table.locator("tbody tr")).to_have_count(7)
    expect(table).to_contain_text("OUTGOING_CHANNEL_MESSAGE_CREATED")
    expect(table).to_contain_text("conversation.propertyChange (assignedTo=A-102)")
    snap(page, "console-deliveries")


def test_person_retries_a_failed_delivery_and_toggles_behaviour(
    transactional_db, live_server, page, receiver
):
    receiver.statuses.append(503)
    build_world(app_webhook_url=receiver.url("/app-hook"))
    receiver.wait_for(1)
    delivery = SandboxWebhookDelivery.objects.get()

    page.goto(f"{live_server.url}/sandbox/app/console/deliveries/")
    row = page.locator(f"tr[data-delivery='{delivery.pk}']")
    expect(row).to_contain_text("HTTP 503")
    expect(row.locator(".pill").last).to_have_text("pending")
    row.get_by_role("button", name="Retry now").click()
    expect(page.get_by_role("status")).to_contain_text(f"Delivery #{delivery.pk} sent: HTTP 200.")
    expect(page.locator(f"tr[data-delivery='{delivery.pk}'] .pill").last).to_have_text("delivered")
    assert receiver.wait_for(2)[1].json[0]["attemptNumber"] == 1

    page.get_by_role("link", name="Sandbox behaviour").click()
    page.get_by_label("Duplicate deliveries").check()
    page.get_by_label("Webhook max attempts").fill("4")
    snap(page, "console-behaviour")
    page.get_by_role("button", name="Save behaviour").click()
    expect(page.get_by_role("status")).to_contain_text("Sandbox behaviour saved")
    current = SandboxBehaviour.current()
    assert current.duplicate_deliveries and current.webhook_max_attempts == 4
