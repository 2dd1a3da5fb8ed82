"""Two tabs, as the README tells a new user: the sandbox chat page (the end user) and the sandbox
agent console (the agent). The chat tab must show the agent's joining, reply (with its file) and
the closing without being reloaded: it learns them from signed callbacks, polled every 2 s.

Set E2E_SCREENSHOTS=<dir> to keep screenshots of both tabs.
"""

import re

import pytest
from playwright.sync_api import expect

from sandbox.models import SandboxContact, SandboxThread
from sandbox.models.demo_bot import DemoChat, DemoChatEntry
from tests.browser import log_in, snap
from tests.factories import UserFactory
from tests.sandbox_ui.world import make_png

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_end_user_and_agent_in_two_tabs(live_server, e2e_settings, page):
    # The chat page and the console are for signed-in staff (sandbox/access.py).
    log_in(page, live_server.url, UserFactory(username="demo-staff", is_staff=True, is_superuser=True))
    chat_tab = page
    chat_tab.goto(f"{live_server.url}/sandbox/app/chat/")
    expect(chat_tab.get_by_role("heading", name="Chat as the end user")).to_be_visible()
    snap(chat_tab, "chat-setup")
    chat_tab.get_by_role("button", name="Set up the demo bot").click()
    expect(chat_tab.get_by_role("status")).to_contain_text("The demo bot is ready")

    ada = SandboxContact.objects.get(email="ada@example.com")
    chat_tab.get_by_label(re.compile("^The end user")).select_option(str(ada.pk))
    snap(chat_tab, "chat-form")
    chat_tab.get_by_role("button", name="Escalate to a human").click()
    expect(chat_tab.get_by_label("Status")).to_have_text(re.compile("requested|open"))
    chat = DemoChat.objects.get()
    expect(chat_tab.get_by_label("Chat")).to_contain_text("Can I talk to a person, please?")
    expect(chat_tab.get_by_label("Chat")).to_contain_text("waiting for an agent", timeout=20_000)
    # A marker that a reload would wipe: everything below must arrive without one.
    chat_tab.evaluate("window.__notReloaded = true")
    chat_tab.get_by_role("textbox", name="Your message").fill("Is anyone there?")
    chat_tab.get_by_role("button", name="Send").click()
    expect(chat_tab.get_by_label("Chat")).to_contain_text("Is anyone there?")

    console = chat_tab.context.new_page()
    thread = SandboxThread.objects.get()
    console.goto(f"{live_server.url}/sandbox/app/console/{thread.portal.portal_id}/threads/{thread.pk}/")
    expect(console.get_by_label("Messages")).to_contain_text("Is anyone there?", timeout=20_000)
    console.get_by_label("Assign to").select_option("A-1001")
    console.get_by_role("button", name="Assign", exact=True).click()
    expect(chat_tab.get_by_label("Chat")).to_contain_text(
        "Alice Agent joined the conversation.", timeout=20_000
    )

    console.get_by_role("textbox", name=re.compile("^Reply")).fill(
        "Hi Ada, Alice here. Your refund is on its way."
    )
    console.get_by_label("Attach a file").set_input_files(
        {"name": "refund.png", "mimeType": "image/png", "buffer": make_png()}
    )
    console.get_by_role("button", name="Send reply").click()
    agent_line = chat_tab.locator(".msg.agent")
    expect(agent_line).to_contain_text("Your refund is on its way.", timeout=20_000)
    expect(agent_line).to_contain_text("Alice Agent")
    expect(agent_line.get_by_role("link", name=re.compile("refund.png"))).to_be_visible()
    snap(console, "console-thread")

    console.get_by_role("button", name="Close conversation").click()
    expect(chat_tab.get_by_label("Status")).to_have_text("closed", timeout=20_000)
    expect(chat_tab.get_by_label("Chat")).to_contain_text("The conversation was closed")
    expect(chat_tab.get_by_role("button", name="Send")).to_be_disabled()
    assert chat_tab.evaluate("window.__notReloaded === true"), "the chat tab was reloaded"
    snap(chat_tab, "chat-closed")

    received = list(
        chat.entries.filter(kind=DemoChatEntry.Kind.EVENT)
        .order_by("sequence")
        .values_list("sequence", "type")
    )
    assert received == [
        (1, "escalation.opened"),
        (2, "escalation.assigned"),
        (3, "escalation.message"),
        (4, "escalation.closed"),
    ]
    # The attachment link the bot got serves the agent's file.
    href = agent_line.get_by_role("link", name=re.compile("refund.png")).get_attribute("href")
    assert chat_tab.request.get(href).body() == make_png()
