"""Connecting a portal through OAuth consent started in the admin, against the sandbox over HTTP.

The browser's trip to HubSpot's consent page is replaced by what that page produces (a
SandboxAuthCode bound to client, redirect URI, portal and scopes); everything else is real: our
views, the state in the session, the token exchange and token info over HTTP to the sandbox.
"""

from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection as db_connection
from django.urls import reverse
from django.utils import timezone

from connections import consent
from connections.models import ChannelRegistration, Connection, ConnectionStatus
from core.models import AuditLogEntry
from sandbox.models import SandboxToken
from tests.connections.helpers import approve, callback
from tests.factories import HubSpotAppFactory

pytestmark = pytest.mark.django_db(transaction=True)


def start_connect(client, tenant, app) -> str:
    """Submit the admin's Connect form; return the state HubSpot's authorize URL carries."""
    response = client.post(
        reverse("admin:connections_connection_connect"), {"tenant": tenant.pk, "app": app.pk}
    )
    assert response.status_code == 302, response.content[:500]
    url = urlparse(response["Location"])
    query = parse_qs(url.query)
    assert url.path.endswith("/sandbox/app/oauth/authorize")
    assert query["client_id"] == ["cid-777"]
    assert query["redirect_uri"] == [consent.redirect_uri()]
    assert set(query["scope"][0].split(" ")) == set(consent.REQUIRED_SCOPES)
    return query["state"][0]


def page_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def raw(conn, column):
    with db_connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM connections_connection WHERE id = %s", [conn.pk])
        return cursor.fetchone()[0]


def test_connect_stores_connection_tokens_and_audit(client, admin_a, tenant_a, consent_app, consent_hubspot):
    client.force_login(admin_a)
    state = start_connect(client, tenant_a, consent_app)

    response = callback(client, code=approve(consent_hubspot), state=state)

    conn = Connection.objects.get()
    assert response.redirect_chain[-1][0] == reverse("admin:connections_connection_change", args=[conn.pk])
    assert any("Connected HubSpot portal 4242" in m for m in page_messages(response))
    assert (conn.tenant, conn.app, conn.portal_id, conn.status) == (
        tenant_a,
        consent_app,
        4242,
        ConnectionStatus.ACTIVE,
    )
    assert conn.hub_domain == "acme.hubspot.test"
    assert set(conn.scopes) >= set(consent.REQUIRED_SCOPES)
    assert conn.connected_by == admin_a
    issued = SandboxToken.objects.get(kind="refresh", portal__portal_id=4242)
    assert conn.refresh_token == issued.token
    assert issued.token not in raw(conn, "refresh_token")  # encrypted at rest
    assert conn.access_token_expires_at > timezone.now()
    assert ChannelRegistration.objects.filter(connection=conn).exists()
    entry = AuditLogEntry.objects.get(action="connection.connect")
    assert (entry.actor, entry.tenant, entry.outcome) == (admin_a, tenant_a, "success")
    assert issued.token not in str(entry.details) + entry.message


def test_reconnecting_same_portal_updates_existing_connection(
    client, admin_a, tenant_a, consent_app, consent_hubspot
):
    client.force_login(admin_a)
    callback(client, code=approve(consent_hubspot), state=start_connect(client, tenant_a, consent_app))
    first = Connection.objects.get()
    old_token = first.access_token

    response = client.post(reverse("admin:connections_connection_action", args=[first.pk, "reconnect"]))
    state = parse_qs(urlparse(response["Location"]).query)["state"][0]
    callback(client, code=approve(consent_hubspot), state=state)

    assert Connection.objects.count() == 1
    first.refresh_from_db()
    assert first.access_token != old_token
    assert AuditLogEntry.objects.filter(action="connection.connect", outcome="success").count() == 2


def test_denied_consent_stores_nothing(client, admin_a, tenant_a, consent_app, consent_hubspot):
    client.force_login(admin_a)
    state = start_connect(client, tenant_a, consent_app)
    response = callback(client, error="access_denied", error_description="The user denied", state=state)
    assert any("Consent was denied" in m for m in page_messages(response))
    assert not Connection.objects.exists()
    assert AuditLogEntry.objects.get().outcome == "failure"


def test_reused_state_is_refused(client, admin_a, tenant_a, consent_app, consent_hubspot):
    client.force_login(admin_a)
    state = start_connect(client, tenant_a, consent_app)
    callback(client, code=approve(consent_hubspot), state=state)
    Connection.objects.all().delete()
    response = callback(client, code=approve(consent_hubspot), state=state)
    assert any("unknown or was already used" in m for m in page_messages(response))
    assert not Connection.objects.exists()


def test_forged_state_is_refused(client, admin_a, tenant_a, consent_app, consent_hubspot):
    client.force_login(admin_a)
    start_connect(client, tenant_a, consent_app)
    response = callback(client, code=approve(consent_hubspot), state="forged-state-value")
    assert any("unknown or was already used" in m for m in page_messages(response))
    assert not Connection.objects.exists()
    assert not SandboxToken.objects.exists()  # the code was never even exchanged


def test_state_from_another_session_is_refused(
    client, django_user_model, admin_a, tenant_a, consent_app, consent_hubspot
):
    client.force_login(admin_a)
    state = start_connect(client, tenant_a, consent_app)
    from django.test import Client

    other = Client()
    other.force_login(admin_a)  # same user, different browser session
    response = callback(other, code=approve(consent_hubspot), state=state)
    assert any("unknown or was already used" in m for m in page_messages(response))
    assert not Connection.objects.exists()


def test_expired_state_is_refused(client, admin_a, tenant_a, consent_app, consent_hubspot):
    client.force_login(admin_a)
    state = start_connect(client, tenant_a, consent_app)
    session = client.session
    session[consent.SESSION_KEY][state]["created"] -= consent.STATE_TTL_SECONDS + 1
    session.save()
    response = callback(client, code=approve(consent_hubspot), state=state)
    assert any("expired" in m for m in page_messages(response))
    assert not Connection.objects.exists()


def test_missing_scopes_are_explained_and_grant_revoked(
    client, admin_a, tenant_a, consent_app, consent_hubspot
):
    client.force_login(admin_a)
    state = start_connect(client, tenant_a, consent_app)
    granted = [s for s in consent.REQUIRED_SCOPES if s not in ("files", "conversations.write")]
    response = callback(client, code=approve(consent_hubspot, scopes=granted), state=state)
    message = " ".join(page_messages(response))
    assert "did not grant the scopes" in message
    assert "conversations.write" in message and "files" in message
    assert not Connection.objects.exists()
    assert SandboxToken.objects.get(kind="refresh").revoked_at is not None


def test_bad_code_is_reported_from_hubspot(client, admin_a, tenant_a, consent_app, consent_hubspot):
    client.force_login(admin_a)
    state = start_connect(client, tenant_a, consent_app)
    response = callback(client, code="not-a-real-code", state=state)
    assert any("HubSpot refused the authorization" in m for m in page_messages(response))
    assert not Connection.objects.exists()


def test_portal_connected_by_another_tenant_is_refused(
    client, admin_a, admin_b, tenant_a, tenant_b, consent_hubspot
):
    platform_app = HubSpotAppFactory(
        tenant=None, app_id=777, client_id="cid-777", client_secret="secret-777", developer_api_key="dev-777"
    )
    client.force_login(admin_b)
    callback(client, code=approve(consent_hubspot), state=start_connect(client, tenant_b, platform_app))
    assert Connection.objects.get().tenant == tenant_b

    client.force_login(admin_a)
    response = callback(
        client, code=approve(consent_hubspot), state=start_connect(client, tenant_a, platform_app)
    )
    assert any("already connected by another organisation" in m for m in page_messages(response))
    assert Connection.objects.get().tenant == tenant_b


def test_tenant_admin_cannot_connect_for_another_tenant(client, admin_a, tenant_b, consent_hubspot):
    foreign_app = HubSpotAppFactory(tenant=tenant_b, app_id=778, client_id="cid-778")
    client.force_login(admin_a)
    response = client.post(
        reverse("admin:connections_connection_connect"), {"tenant": tenant_b.pk, "app": foreign_app.pk}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_reconnect_of_foreign_connection_is_404(client, admin_a, tenant_b):
    foreign = Connection.objects.create(tenant=tenant_b, app=HubSpotAppFactory(tenant=tenant_b), portal_id=1)
    client.force_login(admin_a)
    url = reverse("admin:connections_connection_action", args=[foreign.pk, "reconnect"])
    assert client.post(url).status_code == 404


def test_reconnect_is_an_object_action_hidden_from_a_support_lead_and_inert_on_get(
    client, admin_a, lead_a, tenant_a
):
    own = Connection.objects.create(tenant=tenant_a, app=HubSpotAppFactory(tenant=tenant_a), portal_id=1)
    url = reverse("admin:connections_connection_action", args=[own.pk, "reconnect"])
    client.force_login(lead_a)  # connections are not theirs to see: no hint that this one exists
    assert client.post(url).status_code == 404
    assert consent.SESSION_KEY not in client.session
    client.force_login(admin_a)
    response = client.get(url)
    assert response.status_code == 302 and "/sandbox/" not in response["Location"]
    assert consent.SESSION_KEY not in client.session


def test_support_lead_cannot_start_a_connection(client, lead_a, tenant_a, consent_app):
    client.force_login(lead_a)
    response = client.post(
        reverse("admin:connections_connection_connect"), {"tenant": tenant_a.pk, "app": consent_app.pk}
    )
    assert response.status_code == 403
