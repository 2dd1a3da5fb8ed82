"""Bot access from the connection page, who may use the console (by URL too), and that no secret
ever reaches an admin page except the one answer that shows a new key or secret once."""

from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse

from connections.models import BotApiKey, CallbackSecret, ConnectedInbox, ConnectionStatus, InboxState
from connections.models.access import hash_key
from core.models import AuditLogEntry
from tests.connections.test_admin_console import (
    ACCESS_TOKEN,
    ACTIONS,
    LISTED,
    REFRESH_TOKEN,
    action_url,
    change_url,
    make_connection,
    messages_of,
    status_url,
)


@pytest.fixture(autouse=True)
def hubspot_lists_inboxes():
    with mock.patch("connections.inboxes.available_inboxes", return_value=LISTED):
        yield


@pytest.fixture
def conn_a(tenant_a):
    return make_connection(tenant_a, 4242)


@pytest.fixture
def conn_b(tenant_b):
    return make_connection(tenant_b, 5353)


# -- bot access ------------------------------------------------------------------------------------


def test_bot_key_is_shown_once_then_only_its_prefix(client, admin_a, conn_a):
    client.force_login(admin_a)
    response = client.post(action_url(conn_a, "issue-key"), {"name": "Support bot"}, follow=True)

    assert response.redirect_chain[0][1] == 302
    assert "no-store" in response["Cache-Control"]
    key = BotApiKey.objects.get(connection=conn_a)
    plaintext = response.context["secret"]
    assert plaintext in response.text and hash_key(plaintext) == key.key_hash
    assert key.name == "Support bot" and key.created_by == admin_a

    page = client.get(change_url(conn_a)).text
    assert plaintext not in page and key.key_hash not in page
    assert f"{key.prefix}…" in page
    # Reloading the secret's page shows it no more (and issues no second key).
    again = client.get(response.redirect_chain[-1][0])
    assert plaintext not in again.text and "shown once" in again.text
    assert "no-store" in again["Cache-Control"]
    assert BotApiKey.objects.filter(connection=conn_a).count() == 1
    entry = AuditLogEntry.objects.get(action="bot_key.issue")
    assert entry.actor == admin_a and plaintext not in str(entry.details) + entry.message


def test_revoke_bot_key(client, admin_a, conn_a):
    key, _ = BotApiKey.issue(conn_a)
    client.force_login(admin_a)
    response = client.post(action_url(conn_a, "revoke-key"), {"key_id": key.pk}, follow=True)
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert "Revoked" in messages_of(response)
    assert AuditLogEntry.objects.filter(action="bot_key.revoke", actor=admin_a).exists()


def test_key_of_another_connection_cannot_be_revoked_through_this_one(client, admin_a, conn_a, tenant_a):
    other = make_connection(tenant_a, 99)
    key, _ = BotApiKey.issue(other)
    client.force_login(admin_a)
    assert client.post(action_url(conn_a, "revoke-key"), {"key_id": key.pk}).status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_callback_secret_is_shown_once(client, admin_a, conn_a):
    client.force_login(admin_a)
    response = client.post(action_url(conn_a, "rotate-secret"), follow=True)

    plaintext = response.context["secret"]
    assert CallbackSecret.objects.get(connection=conn_a).secret == plaintext
    assert plaintext in response.text and "no-store" in response["Cache-Control"]
    page = client.get(change_url(conn_a)).text
    assert plaintext not in page and "Rotate the callback secret" in page
    assert AuditLogEntry.objects.filter(action="callback_secret.rotate", actor=admin_a).exists()


# -- who may ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ACTIONS)
def test_other_tenants_and_support_leads_get_404_for_every_action(client, admin_b, lead_a, conn_a, name):
    key, _ = BotApiKey.issue(conn_a)
    ConnectedInbox.objects.create(connection=conn_a, inbox_id=101)
    data = {"inbox_id": "101", "key_id": key.pk, "name": "x"}
    for user in (admin_b, lead_a):
        client.force_login(user)
        assert client.post(action_url(conn_a, name), data).status_code == 404, user
    key.refresh_from_db()
    conn_a.refresh_from_db()
    assert key.revoked_at is None and conn_a.status == ConnectionStatus.ACTIVE
    assert conn_a.inboxes.get().state == InboxState.PENDING
    assert BotApiKey.objects.count() == 1 and not CallbackSecret.objects.exists()
    assert not AuditLogEntry.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        lambda c: change_url(c),
        lambda c: status_url(c),
        lambda c: reverse("admin:connections_connection_disconnect", args=[c.pk]),
    ],
    ids=["change", "status", "disconnect"],
)
def test_other_tenants_and_support_leads_cannot_read_the_console(client, admin_b, lead_a, conn_a, url):
    for user in (admin_b, lead_a):
        client.force_login(user)
        assert client.get(url(conn_a)).status_code == 404


def test_actions_need_post_and_a_csrf_token(admin_a, conn_a):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_a)
    # A GET issues nothing and leads back to the page (no bare 405).
    assert browser.get(action_url(conn_a, "issue-key")).status_code == 302
    assert browser.post(action_url(conn_a, "issue-key")).status_code == 403
    assert not BotApiKey.objects.exists()


def test_unknown_action_is_404(client, admin_a, conn_a):
    client.force_login(admin_a)
    assert client.post(action_url(conn_a, "drop-tables")).status_code == 404


def test_anonymous_is_sent_to_login(client, conn_a):
    response = client.post(action_url(conn_a, "issue-key"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not BotApiKey.objects.exists()


def test_superuser_may_act_on_any_tenant(client, superuser, conn_b):
    client.force_login(superuser)
    assert client.post(action_url(conn_b, "issue-key"), follow=True).status_code == 200
    assert BotApiKey.objects.filter(connection=conn_b).exists()


# -- secrets never reach a page --------------------------------------------------------------------


def test_no_secret_on_any_admin_page(client, admin_a, conn_a):
    key, key_plaintext = BotApiKey.issue(conn_a)
    _, callback_plaintext = CallbackSecret.issue(conn_a)
    app = conn_a.app
    client.force_login(admin_a)
    client.post(action_url(conn_a, "add-inboxes"), {"inbox_id": "101"})
    secrets = [
        ACCESS_TOKEN,
        REFRESH_TOKEN,
        str(app.client_secret),
        str(app.developer_api_key),
        key_plaintext,
        key.key_hash,
        callback_plaintext,
    ]
    entry = AuditLogEntry.objects.filter(tenant=conn_a.tenant).first()
    pages = [
        change_url(conn_a),
        reverse("admin:connections_connection_changelist"),
        status_url(conn_a),
        reverse("admin:connections_connection_disconnect", args=[conn_a.pk]),
        reverse("admin:connections_hubspotapp_change", args=[app.pk]),
        reverse("admin:connections_hubspotapp_changelist"),
        reverse("admin:core_auditlogentry_changelist"),
        reverse("admin:core_auditlogentry_change", args=[entry.pk]),
        reverse("admin:connections_connection_connect") + f"?app={app.pk}",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        for secret in secrets:
            assert secret not in response.text, (url, secret[:12])
