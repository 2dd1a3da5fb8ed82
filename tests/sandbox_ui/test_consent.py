"""The OAuth consent page (stand-in for app.hubspot.com/oauth/authorize), with Django's test client."""

from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.utils import timezone
from hubspot.utils.oauth import get_auth_url

from sandbox.models import SandboxApp, SandboxAuthCode, SandboxPortal

AUTHORIZE = "/sandbox/app/oauth/authorize"
REDIRECT = "https://portal.example.com/hubspot/oauth/callback/"


@pytest.fixture
def app(db):
    return SandboxApp.objects.create(
        app_id=77,
        name="HITL Portal",
        client_id="cid-77",
        client_secret="secret",
        developer_api_key="dev",
        redirect_urls=[REDIRECT, "http://127.0.0.1:8000/cb?x=1"],
    )


@pytest.fixture
def portals(db):
    return [
        SandboxPortal.objects.create(portal_id=62515, name="Acme", hub_domain="acme.example.com"),
        SandboxPortal.objects.create(portal_id=62516, name="Globex", hub_domain="globex.example.com"),
    ]


def authorize_url(**overrides):
    """Built by HubSpot's own SDK helper, then pointed at the sandbox (HUBSPOT_APP_BASE)."""
    params = {
        "client_id": "cid-77",
        "redirect_uri": REDIRECT,
        "scope": ("oauth", "conversations.read", "conversations.custom_channels.write"),
        "optional_scope": ("crm.objects.contacts.read",),
        "state": "st/ate+1",
    } | overrides
    return get_auth_url(**params).replace("https://app.hubspot.com/oauth/authorize", AUTHORIZE)


def test_page_shows_app_scopes_and_portals(client, app, portals):
    response = client.get(authorize_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert "Connect HITL Portal to HubSpot" in html
    for scope in (
        "oauth",
        "conversations.read",
        "conversations.custom_channels.write",
        "crm.objects.contacts.read",
    ):
        assert f"<code>{scope}</code>" in html
    assert "Acme (62515)" in html and "Globex (62516)" in html
    assert "portal.example.com" in html  # where the person will be sent


def test_approve_issues_a_bound_single_use_code_and_redirects_with_state(client, app, portals):
    response = client.post(
        authorize_url(), {"portal": "62516", "user_email": "ops@globex.example.com", "decision": "approve"}
    )
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["st/ate+1"]
    code = SandboxAuthCode.objects.get(code=query["code"][0])
    assert code.app == app and code.portal == portals[1]
    assert code.redirect_uri == REDIRECT
    assert code.scopes == [
        "oauth",
        "conversations.read",
        "conversations.custom_channels.write",
        "crm.objects.contacts.read",
    ]
    assert code.user_email == "ops@globex.example.com"
    assert code.used_at is None
    assert timedelta(minutes=9) < code.expires_at - timezone.now() <= timedelta(minutes=10)


def test_redirect_uri_with_its_own_query_keeps_it(client, app, portals):
    response = client.post(
        authorize_url(redirect_uri="http://127.0.0.1:8000/cb?x=1", state=None),
        {"portal": "62515", "user_email": "a@b.co", "decision": "approve"},
    )
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["x"] == ["1"] and "code" in query and "state" not in query


def test_deny_redirects_with_access_denied(client, app, portals):
    response = client.post(authorize_url(), {"decision": "deny"})
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.netloc == "portal.example.com"
    query = parse_qs(location.query)
    assert query["error"] == ["access_denied"]
    assert query["error_description"][0]
    assert query["state"] == ["st/ate+1"]
    assert "code" not in query
    assert not SandboxAuthCode.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"client_id": "nope"}, "No app has the client ID"),
        ({"client_id": ""}, "has no client_id"),
        ({"redirect_uri": "https://evil.example.com/cb"}, "does not match any redirect URL"),
        ({"redirect_uri": ""}, "has no redirect_uri"),
        ({"scope": ()}, "requests no scope"),
    ],
)
def test_bad_requests_get_an_error_page_not_a_redirect(client, app, portals, overrides, message):
    for method in (client.get, client.post):
        response = method(authorize_url(**overrides), {"decision": "deny"} if method == client.post else None)
        assert response.status_code == 400
        assert message in response.content.decode()
        assert "Location" not in response
    assert not SandboxAuthCode.objects.exists()


def test_no_redirect_is_allowed_when_the_app_registered_none(client, app, portals):
    # As HubSpot: an app must register its redirect URL; none registered accepts none.
    app.redirect_urls = []
    app.save()
    response = client.post(
        authorize_url(redirect_uri="http://localhost:9999/anything"),
        {"portal": "62515", "user_email": "a@b.co", "decision": "approve"},
    )
    assert response.status_code == 400 and "Location" not in response
    assert "no redirect URL registered" in response.content.decode()
    response = client.get(authorize_url(redirect_uri="javascript:alert(1)"))
    assert response.status_code == 400
    assert not SandboxAuthCode.objects.exists()


def test_invalid_form_shows_the_page_again(client, app, portals):
    response = client.post(
        authorize_url(), {"portal": "1", "user_email": "not-an-email", "decision": "approve"}
    )
    assert response.status_code == 200
    assert b"Select a valid choice" in response.content and b"Enter a valid email address" in response.content
    assert not SandboxAuthCode.objects.exists()


def test_without_portals_the_page_explains_how_to_create_one(client, app):
    response = client.get(authorize_url())
    assert b"sandbox_seed" in response.content
    assert b"Connect app" not in response.content


def test_approving_needs_the_csrf_token(app, portals, staff):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(staff)
    response = csrf_client.post(
        authorize_url(), {"portal": "62515", "user_email": "a@b.co", "decision": "approve"}
    )
    assert response.status_code == 403
    page = csrf_client.get(authorize_url())
    token = page.context["csrf_token"]
    response = csrf_client.post(
        authorize_url(),
        {"portal": "62515", "user_email": "a@b.co", "decision": "approve", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302


def test_the_issued_code_is_exchanged_once_by_the_sandbox_token_endpoint(client, app, portals):
    """Consent and token exchange are built separately; this holds them to the same contract."""
    from sandbox.models import SandboxToken

    response = client.post(
        authorize_url(), {"portal": "62515", "user_email": "a@acme.example.com", "decision": "approve"}
    )
    code = parse_qs(urlsplit(response["Location"]).query)["code"][0]
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": "cid-77",
        "client_secret": "secret",
    }
    form = "application/x-www-form-urlencoded"  # how hubspot-api-client sends it (contract §4.4)
    response = client.post("/sandbox/api/oauth/v1/token", urlencode(exchange), content_type=form)
    assert response.status_code == 200, response.content
    assert response.json()["refresh_token"]
    token = SandboxToken.objects.get(kind="refresh", token=response.json()["refresh_token"])
    assert token.portal == portals[0] and "crm.objects.contacts.read" in token.scopes
    assert SandboxAuthCode.objects.get(code=code).used_at is not None
    assert (
        client.post("/sandbox/api/oauth/v1/token", urlencode(exchange), content_type=form).status_code == 400
    )
