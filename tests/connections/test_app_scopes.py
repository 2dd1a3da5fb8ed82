"""The scopes an app asks for live on its record: sent as scope/optional_scope exactly as set,
checked against the grant, and a reconnect that loses a granted scope says so."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from connections.hubspot import scopes
from connections.models import Connection
from core.models import AuditLogEntry
from tests.connections.helpers import approve, callback

pytestmark = pytest.mark.django_db(transaction=True)

EXTRA = "crm.objects.companies.read"
OPTIONAL = "tickets"


def test_new_app_defaults_to_what_the_portal_needs_including_oauth(consent_app):
    assert consent_app.required_scopes == list(scopes.PORTAL_SCOPES)
    # Creating unknown users as contacts is a per-connection choice: its write scope is optional.
    assert "oauth" in consent_app.required_scopes and consent_app.optional_scopes == [
        "crm.objects.contacts.write"
    ]


def authorize_query(client, tenant, app) -> dict:
    response = client.post(
        reverse("admin:connections_connection_connect"), {"tenant": tenant.pk, "app": app.pk}
    )
    assert response.status_code == 302
    return parse_qs(urlparse(response["Location"]).query)


def test_install_url_sends_the_apps_required_and_optional_scopes(
    client, admin_a, tenant_a, consent_app, consent_hubspot
):
    consent_app.required_scopes = [*scopes.PORTAL_SCOPES, EXTRA]
    consent_app.optional_scopes = [OPTIONAL, EXTRA]  # listed twice: required wins
    consent_app.save()
    client.force_login(admin_a)

    query = authorize_query(client, tenant_a, consent_app)

    assert query["scope"][0].split(" ") == [*scopes.PORTAL_SCOPES, EXTRA]
    assert query["optional_scope"][0].split(" ") == [OPTIONAL]


def test_a_grant_without_an_app_required_scope_is_refused(
    client, admin_a, tenant_a, consent_app, consent_hubspot
):
    consent_app.required_scopes = [*scopes.PORTAL_SCOPES, EXTRA]
    consent_app.save()
    client.force_login(admin_a)
    state = start_connect_any(client, tenant_a, consent_app)

    response = callback(client, code=approve(consent_hubspot, scopes=scopes.PORTAL_SCOPES), state=state)

    assert not Connection.objects.exists()
    assert any(EXTRA in str(m) for m in response.context["messages"])


def start_connect_any(client, tenant, app) -> str:
    return authorize_query(client, tenant, app)["state"][0]


def test_reconnect_that_loses_a_granted_scope_says_so(
    client, admin_a, tenant_a, consent_app, consent_hubspot
):
    consent_app.optional_scopes = [OPTIONAL]
    consent_app.save()
    client.force_login(admin_a)
    callback(
        client,
        code=approve(consent_hubspot, scopes=[*scopes.PORTAL_SCOPES, OPTIONAL]),
        state=start_connect_any(client, tenant_a, consent_app),
    )
    conn = Connection.objects.get()
    assert OPTIONAL in conn.scopes and conn.last_error == ""

    callback(client, code=approve(consent_hubspot), state=start_connect_any(client, tenant_a, consent_app))

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
