"""Trust bug: search finds people. A bot that sent only the user's phone number still lets a
support lead find the escalation by the contact's name or email, as HubSpot knows the contact
(stored from the contact search when the escalation starts)."""

from __future__ import annotations

import io
import json
from urllib.parse import quote

import pytest
import requests
from django.core.management import call_command
from playwright.sync_api import expect

from connections.models import Connection
from conversations.models import Escalation
from tenants.models import Role
from tests.console.conftest import LIST_URL
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def provisioned(hubspot):
    out = io.StringIO()
    call_command("provision_connection", "--sandbox", "--json", stdout=out)
    data = json.loads(out.getvalue())
    tenant = Connection.objects.get(pk=data["connection_id"]).tenant
    MembershipFactory(tenant=tenant, user=UserFactory(username="lena"), role=Role.SUPPORT_LEAD)
    return data


def start(base, key, conversation_id, user):
    response = requests.post(
        f"{base}/api/v1/escalations/",
        headers={"Authorization": f"Bearer {key}"},
        json={"conversation_id": conversation_id, "user": user, "title": f"About {conversation_id}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return Escalation.objects.get(pk=response.json()["id"])


def test_search_by_name_email_or_phone_whatever_the_bot_sent(live_server, page, provisioned):
    key = provisioned["bot_api_key"]
    # The seeded HubSpot contacts: Ada Lovelace (ada@example.com, +447700900001) and Grace Hopper
    # (grace@example.com, +15550100002). The bot knows Ada by phone only, Grace by email only.
    ada = start(live_server.url, key, "by-phone", {"name": "Caller 1", "phone": "+44 7700 900001"})
    grace = start(live_server.url, key, "by-email", {"name": "G.", "email": "grace@example.com"})
    assert (ada.contact_name, ada.contact_email) == ("Ada Lovelace", "ada@example.com")
    assert (grace.contact_name, grace.contact_phone) == ("Grace Hopper", "+15550100002")

    page.goto(f"{live_server.url}/admin/login/?next={quote(LIST_URL)}")
    page.get_by_label("Username").fill("lena")
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()

    def search(term: str) -> list[str]:
        box = page.locator("#searchbar")
        box.fill(term)
        box.press("Enter")
        page.wait_for_load_state()
        return sorted(page.locator("#result_list tbody tr .esc-conv").all_inner_texts())

    assert search("ada@example.com") == ["by-phone"]
    assert search("ADA@EXAMPLE.COM") == ["by-phone"]
    assert search("Lovelace") == ["by-phone"]
    assert search("ada lovelace") == ["by-phone"]
    assert search("+1 555 010 0002") == ["by-email"]
    assert search("Hopper") == ["by-email"]
    assert search("grace@example.com") == ["by-email"]
    assert search("+447700900001") == ["by-phone"]
    row = page.locator("#result_list tbody tr", has_text="by-phone")
    expect(row).to_contain_text("Caller 1 (Ada Lovelace)")
    expect(row).to_contain_text("ada@example.com")
