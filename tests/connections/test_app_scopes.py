"""The scopes an app asks for live on its record: sent as scope/optional_scope exactly as set,
checked against the grant, and a reconnect that loses a granted scope says so."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from connections.hubspot import scopes
from connections.models import Connection
from core.models import AuditLogEntry
from sandbox.models import SandboxApp, SandboxPortal
from tests.connections.test_consent_flow import approve, callback
from tests.factories import HubSpotAppFactory

pytestmark = pytest.mark.django_db(transaction=True)

EXTRA = "crm.objects.companies.read"
OPTIONAL = "tickets"


@pytest.fixture
def hubspot(live_server, settings):
    """The consent tests' sandbox portal and app (see test_consent_flow)."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.HUBSPOT_API_BASE = f"{live_server.url}/sandbox/api"
    settings.HUBSPOT_APP_BASE = f"{live_server.url}/sandbox/app"
    portal = SandboxPortal.objects.create(portal_id=4242, name="Acme HubSpot", hub_domain="acme.hubspot.test")
    sandbox_app = SandboxApp.objects.create(
        app_id=777, name="HITL", client_id="cid-777", client_secret="secret-777", developer_api_key="dev-777"
    )
    return portal, sandbox_app


@pytest.fixture
def app_a(tenant_a):
    return HubSpotAppFactory(
        tenant=tenant_a, app_id=777, client_id="cid-777", client_secret="secret-777", developer_api_key="d"
    )


def test_new_app_defaults_to_what_the_portal_needs_including_oauth(app_a):
    assert app_a.required_scopes == list(scopes.PORTAL_SCOPES)
    assert "oauth" in app_a.required_scopes and app_a.optional_scopes == []


def authorize_query(client, tenant, app) -> dict:
    response = client.post(
        reverse("admin:connections_connection_connect"), {"tenant": tenant.pk, "app": app.pk}
    )
    assert response.status_code == 302
    return parse_qs(urlparse(response["Location"]).query)


def test_install_url_sends_the_apps_required_and_optional_scopes(client, admin_a, tenant_a, app_a, hubspot):
    app_a.required_scopes = [*scopes.PORTAL_SCOPES, EXTRA]
    app_a.optional_scopes = [OPTIONAL, EXTRA]  # listed twice: required wins
    app_a.save()
    client.force_login(admin_a)

    query = authorize_query(client, tenant_a, app_a)

    assert query["scope"][0].split(" ") == [*scopes.PORTAL_SCOPES, EXTRA]
    assert query["optional_scope"][0].split(" ") == [OPTIONAL]


def test_a_grant_without_an_app_required_scope_is_refused(client, admin_a, tenant_a, app_a, hubspot):
    app_a.required_scopes = [*scopes.PORTAL_SCOPES, EXTRA]
    app_a.save()
    client.force_login(admin_a)
    state = start_connect_any(client, tenant_a, app_a)

    response = callback(client, code=approve(hubspot, scopes=scopes.PORTAL_SCOPES), state=state)

    assert not Connection.objects.exists()
    assert any(EXTRA in str(m) for m in response.context["messages"])


def start_connect_any(client, tenant, app) -> str:
    return authorize_query(client, tenant, app)["state"][0]


def test_reconnect_that_loses_a_granted_scope_says_so(client, admin_a, tenant_a, app_a, hubspot):
    app_a.optional_scopes = [OPTIONAL]
    app_a.save()
    client.force_login(admin_a)
    callback(
        client,
        code=approve(hubspot, scopes=[*scopes.PORTAL_SCOPES, OPTIONAL]),
        state=start_connect_any(client, tenant_a, app_a),
    )
    conn = Connection.objects.get()
    assert OPTIONAL in conn.scopes and conn.last_error == ""

    callback(client, code=approve(hubspot), state=start_connect_any(client, tenant_a, app_a))

    conn.refresh_from_db()
    assert OPTIONAL not in conn.scopes
    assert OPTIONAL in conn.last_error
    entry = AuditLogEntry.objects.filter(action="connection.connect").latest("id")
    assert entry.details["dropped_scopes"] == [OPTIONAL]
    assert OPTIONAL in entry.message


def test_scope_report_compares_grant_with_the_app():
    class App:
        required_scopes = ["oauth", "files"]
        optional_scopes = ["tickets", "crm.lists.read"]

    report = scopes.report(App, ["oauth", "tickets", "legacy.scope"])
    assert report.missing == ("files",) and not report.ok
    assert report.granted_optional == ("tickets",)
    assert report.extra == ("legacy.scope",)
    assert scopes.dropped(["oauth", "tickets"], "oauth files") == ["tickets"]
