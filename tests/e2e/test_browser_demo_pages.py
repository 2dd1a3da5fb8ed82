"""The demo pages as a newcomer uses them: on the chat page Enter sends (Shift+Enter is a new
line), ending asks once and disables the input; the agent console shows the escalation's title,
links to the admin and the chat page, tells bot lines from the user's, and offers "New message ↓"
when scrolled up."""

import re

import pytest
from playwright.sync_api import expect

from sandbox.models import SandboxContact, SandboxThread
from tests.browser import log_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_chat_page_and_console(live_server, e2e_settings, page):
    # The sandbox's pages are for signed-in staff (the demo's operator).
    log_in(page, live_server.url, UserFactory(username="demo-staff", is_staff=True, is_superuser=True))
    page.goto(f"{live_server.url}/sandbox/app/chat/")
    page.get_by_role("button", name="Set up the demo bot").click()
    ada = SandboxContact.objects.get(email="ada@example.com")
    page.get_by_label(re.compile("^The end user")).select_option(str(ada.pk))
    page.get_by_role("button", name="Escalate to a human").click()
    expect(page.get_by_label("Chat")).to_contain_text("waiting for an agent", timeout=20_000)

    box = page.get_by_role("textbox", name="Your message")
    box.fill("first line")
    box.press("Shift+Enter")
    box.type("second line")
    assert box.input_value() == "first line\nsecond line"
    box.press("Enter")
    expect(page.get_by_label("Chat")).to_contain_text("second line")
    expect(box).to_have_value("")

    console = page.context.new_page()
    thread = SandboxThread.objects.get()
    console.goto(f"{live_server.url}/sandbox/app/console/{thread.portal.portal_id}/threads/{thread.pk}/")
    expect(console.locator("#escalation-title")).to_contain_text("escalation in the portal's admin")
    expect(
        console.locator("#escalation-title").get_by_role("link", name=re.compile("chat page"))
    ).to_be_visible()
    messages = console.get_by_label("Messages")
    expect(messages.locator(".msg", has_text="Bot:").first.locator(".meta")).to_contain_text("Bot (for")

    # Enough lines for the console's message list to scroll, then the agent scrolls up to read.
    for n in range(6):
        box.fill(f"more detail {n}")
        box.press("Enter")
        expect(page.get_by_label("Chat")).to_contain_text(f"more detail {n}")
    expect(messages).to_contain_text("more detail 5", timeout=20_000)
    messages.evaluate("el => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }")
    box.fill("are you reading?")
    box.press("Enter")
    jump = console.get_by_role("button", name="New message ↓")
    expect(jump).to_be_visible(timeout=20_000)
    jump.click()
    expect(jump).to_be_hidden()
    assert messages.evaluate("el => el.scrollHeight - el.scrollTop - el.clientHeight < 40")

    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="End conversation").click()
    expect(page.get_by_label("Status")).to_have_text("closed", timeout=20_000)
    assert dialogs == ["End this conversation with the agent?"]
    expect(box).to_be_disabled()
    expect(page.locator("#chat-closed")).to_be_visible()
