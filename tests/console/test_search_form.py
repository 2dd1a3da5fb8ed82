"""One search box template for every list (templates/admin/search_form.html): labelled, and the
escalation list offers "Show all" back only once a search or filter narrowed it."""

import pytest

from conversations.models import EscalationStatus
from tests.factories import ConnectionFactory, InboxFactory, WebhookReceiptFactory, escalation

pytestmark = pytest.mark.django_db


def toolbar(html: str) -> str:
    """The page above the table: the theme's header (result count, "Show all") and the search form."""
    return html.split('id="result_list"')[0]


def test_the_escalation_list_offers_show_all_only_after_a_search_or_filter(client, admin_a, tenant_a):
    inbox = InboxFactory(connection=ConnectionFactory(tenant=tenant_a))
    escalation(inbox, status=EscalationStatus.OPEN, user_name="Ada Lovelace")
    client.force_login(admin_a)

    plain = toolbar(client.get("/admin/conversations/escalation/").text)
    searched = toolbar(client.get("/admin/conversations/escalation/?q=Ada").text)
    filtered = toolbar(client.get("/admin/conversations/escalation/?status__exact=open").text)

    assert '<label for="searchbar"' in plain and "Show all" not in plain
    for box in (searched, filtered):
        assert "Show all" in box


def test_other_lists_keep_djangos_result_count(client, admin_a, tenant_a):
    app = ConnectionFactory(tenant=tenant_a).app
    WebhookReceiptFactory(app=app, remote_ip="203.0.113.7")
    client.force_login(admin_a)

    box = toolbar(client.get("/admin/conversations/webhookreceipt/?q=203.0.113.7").text)

    assert '<label for="searchbar"' in box and "1 result (" in box and "Show all" in box
