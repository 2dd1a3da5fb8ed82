"""The connection console's actions for real: the admin's POSTs, the services, HubSpot's sandbox
over HTTP at the live server. Tasks run eagerly when the request's transaction commits."""

import pytest
from django.urls import reverse

from connections.models import (
    ChannelRegistration,
    ConnectedInbox,
    Connection,
    ConnectionStatus,
    InboxState,
    RegistrationState,
)
from core.models import AuditLogEntry
from sandbox.models import SandboxChannelAccount, SandboxToken
from sandbox.seed import seed_demo
from tests.connections.helpers import connect
from tests.factories import HubSpotAppFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(live_server, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    settings.HUBSPOT_API_BASE = f"{live_server.url}/sandbox/api"
    settings.HUBSPOT_APP_BASE = f"{live_server.url}/sandbox/app"
    return seed_demo(live_server.url)


@pytest.fixture
def demo_conn(demo, tenant_a) -> Connection:
    app = HubSpotAppFactory(
        tenant=tenant_a,
        app_id=demo["app_id"],
        client_id=demo["client_id"],
        client_secret=demo["client_secret"],
        developer_api_key=demo["developer_api_key"],
    )
    return connect(
        tenant_a, app, portal_id=demo["portal_id"], refresh_token=demo["refresh_token"], name="Demo"
    )


def act(client, connection, name, data=None):
    url = reverse("admin:connections_connection_action", args=[connection.pk, name])
    return client.post(url, data or {}, follow=True)


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_pick_inboxes_register_and_remove_one(client, admin_a, demo, demo_conn):
    support, sales = demo["inbox_ids"]
    client.force_login(admin_a)

    page = client.get(reverse("admin:connections_connection_change", args=[demo_conn.pk])).text
    assert f'value="{support}"' in page and f'value="{sales}"' in page  # listed by the sandbox

    act(client, demo_conn, "add-inboxes", {"inbox_id": [str(support), str(sales)]})
    response = act(client, demo_conn, "register")

    assert ChannelRegistration.objects.get(connection=demo_conn).state == RegistrationState.ACTIVE
    assert "Now: Active." in messages_of(response)
    inboxes = {i.inbox_id: i for i in ConnectedInbox.objects.filter(connection=demo_conn)}
    assert {i.state for i in inboxes.values()} == {InboxState.ACTIVE}
    assert f"<code>{inboxes[support].channel_account_id}</code>" in response.text

    act(client, demo_conn, "remove-inbox", {"inbox_id": str(sales)})
    account = SandboxChannelAccount.objects.get(pk=inboxes[sales].channel_account_id)
    assert account.authorized is False  # switched off at HubSpot
    actions = set(AuditLogEntry.objects.filter(actor=admin_a).values_list("action", flat=True))
    assert {"connection.inbox_add", "channel.register", "connection.inbox_remove"} <= actions


def test_webhook_setup_succeeds_then_is_refused_with_a_wrong_key(client, admin_a, demo_conn):
    client.force_login(admin_a)
    response = act(client, demo_conn, "setup-webhooks")
    assert "Webhooks are set up in HubSpot" in messages_of(response)
    assert '<details class="hitl-manual" id="webhooks-manual" open>' not in response.text
    assert AuditLogEntry.objects.get(action="app.webhooks").outcome == "success"

    demo_conn.app.developer_api_key = "not-the-key"
    demo_conn.app.save()
    response = act(client, demo_conn, "setup-webhooks")
    assert "HubSpot refused to let us configure webhooks" in messages_of(response)
    assert '<details class="hitl-manual" id="webhooks-manual" open>' in response.text


def test_check_health_reports_on_the_live_connection(client, admin_a, demo_conn):
    client.force_login(admin_a)
    response = act(client, demo_conn, "check-health")
    assert response.status_code == 200
    row = response.text.split('data-check="token"')[1].split("</tr>")[0]
    assert "OK" in row and "Valid for" in row
    assert 'data-check="channel"' in response.text  # not registered yet: a problem, shown
    assert AuditLogEntry.objects.filter(action="connection.health_check", actor=admin_a).exists()


def test_disconnect_revokes_at_hubspot_and_wipes_tokens(client, admin_a, demo, demo_conn):
    client.force_login(admin_a)
    response = act(client, demo_conn, "disconnect")

    demo_conn.refresh_from_db()
    assert demo_conn.status == ConnectionStatus.DISCONNECTED
    assert not demo_conn.refresh_token and not demo_conn.access_token
    assert SandboxToken.objects.get(token=demo["refresh_token"]).revoked_at is not None
    assert "its tokens were revoked and wiped" in messages_of(response)
    assert 'id="disconnect-link"' not in response.text
    entry = AuditLogEntry.objects.get(action="connection.disconnect")
    assert (entry.actor, entry.outcome) == (admin_a, "success")
