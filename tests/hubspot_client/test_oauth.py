"""OAuth: the consent URL, code exchange, token info and revocation, in both API versions."""

from urllib.parse import parse_qs, urlsplit

import pytest
from hubspot.utils.oauth import get_auth_url
from hubspot_sdk.types.auth.oauth_create_token_params import OAuthCreateTokenParams
from hubspot_sdk.types.auth.oauth_introspect_token_params import OAuthIntrospectTokenParams
from hubspot_sdk.types.auth.oauth_revoke_token_params import OAuthRevokeTokenParams

from connections.hubspot import HubSpotInvalidGrant, OAuthClient, authorize_url
from tests.hubspot_client.conftest import API, APP, load_fixture
from tests.hubspot_client.factories import CLIENT_SECRET
from tests.hubspot_client.sdk_contract import assert_sdk_body, sdk_request

SCOPES = ["oauth", "conversations.read", "conversations.write"]


def _form(call) -> dict[str, str]:
    assert call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


@pytest.fixture
def oauth(app, transport):
    return OAuthClient.for_app(app, transport=transport)


def test_authorize_url_is_built_like_hubspots_own_helper():
    url = authorize_url(
        "client-1",
        "https://hitl.example.com/oauth/callback/",
        SCOPES,
        ["files", "crm.objects.contacts.read"],
        "st4te/+=",
    )

    reference = get_auth_url(
        "client-1",
        "https://hitl.example.com/oauth/callback/",
        tuple(SCOPES),
        ("files", "crm.objects.contacts.read"),
        "st4te/+=",
    )
    assert url == reference.replace("https://app.hubspot.com", APP)
    query = parse_qs(urlsplit(url).query)
    assert query["scope"] == ["oauth conversations.read conversations.write"]
    assert "%20" in url and "+" not in urlsplit(url).query


def test_authorize_url_follows_the_app_base_setting(settings):
    settings.HUBSPOT_APP_BASE = "http://127.0.0.1:8000/sandbox/app"
    assert authorize_url("c", "https://x/cb", ["oauth"]).startswith(
        "http://127.0.0.1:8000/sandbox/app/oauth/authorize?client_id=c&"
    )


def test_exchange_code(oauth, app, mocked):
    mocked.post(f"{API}/oauth/2026-03/token", json=load_fixture("oauth_token__authorization_code"))

    granted = oauth.exchange_code(
        "code-123", "https://hitl.example.com/oauth/callback/", code_verifier="v" * 43
    )

    form = _form(mocked.calls[0])
    assert form == {
        "grant_type": "authorization_code",
        "client_id": app.client_id,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": "https://hitl.example.com/oauth/callback/",
        "code": "code-123",
        "code_verifier": "v" * 43,
    }
    assert_sdk_body(form, OAuthCreateTokenParams)
    assert granted.access_token == "CJDx-access-granted-5555"
    assert granted.refresh_token == "na1-1a2b-rt-granted-4444"
    assert granted.expires_in == 1800
    assert granted.hub_id == 243842089 and granted.user_id == 7711
    assert "files" in granted.scopes


def test_the_form_has_the_fields_the_sdk_sends_as_json(oauth, app, mocked):
    mocked.post(f"{API}/oauth/2026-03/token", json=load_fixture("oauth_token__refresh_rotated"))
    oauth.refresh("rt-1")

    sdk = sdk_request(
        lambda c: c.auth.oauth.create_token(
            grant_type="refresh_token",
            client_id=app.client_id,
            client_secret=CLIENT_SECRET,
            refresh_token="rt-1",
        ),
        response=load_fixture("oauth_token__refresh_rotated"),
    )
    assert (sdk.method, sdk.path) == ("POST", "/oauth/2026-03/token")
    assert sdk.json == _form(mocked.calls[0])


def test_invalid_code_is_an_invalid_grant(oauth, mocked):
    mocked.post(
        f"{API}/oauth/2026-03/token",
        status=400,
        json={"status": "BAD_AUTH_CODE", "message": "auth code not found", "correlationId": "c-1"},
    )
    with pytest.raises(HubSpotInvalidGrant) as caught:
        oauth.exchange_code("used-code", "https://x/cb")
    assert caught.value.sub_category == "BAD_AUTH_CODE"


def test_token_info_by_introspection(oauth, app, mocked):
    mocked.post(f"{API}/oauth/2026-03/token/introspect", json=load_fixture("oauth_token_info__introspect"))

    info = oauth.token_info("CJDx-access-new-1111")

    form = _form(mocked.calls[0])
    assert_sdk_body(form, OAuthIntrospectTokenParams)
    assert form["token"] == "CJDx-access-new-1111" and form["token_type_hint"] == "access_token"
    assert (info.hub_id, info.app_id, info.user_id, info.user) == (
        243842089,
        4242001,
        7711,
        "lena@acme.example",
    )
    assert info.hub_domain == "acme-243842089.hs-sites.com"
    assert info.expires_in == 1734 and info.active
    assert "conversations.custom_channels.write" in info.scopes


def test_token_info_v1(oauth, mocked, settings):
    settings.HUBSPOT_API_VERSION = "v3"
    mocked.get(
        f"{API}/oauth/v1/access-tokens/CJDx-access-new-1111", json=load_fixture("oauth_token_info__v1")
    )

    info = oauth.token_info("CJDx-access-new-1111")

    assert (info.hub_id, info.app_id, info.user) == (243842089, 4242001, "lena@acme.example")
    assert info.extra["trial_scopes"] == []
    assert "Authorization" not in mocked.calls[0].request.headers


def test_revoke_2026_03(oauth, mocked):
    mocked.post(f"{API}/oauth/2026-03/token/revoke", status=204)

    oauth.revoke_refresh_token("rt-1")

    form = _form(mocked.calls[0])
    assert_sdk_body(form, OAuthRevokeTokenParams)
    assert form["token"] == "rt-1" and form["token_type_hint"] == "refresh_token"


def test_revoke_v1_and_an_unknown_token_is_fine(oauth, mocked, settings):
    settings.HUBSPOT_API_VERSION = "v3"
    mocked.delete(f"{API}/oauth/v1/refresh-tokens/rt-1", status=204)
    mocked.delete(
        f"{API}/oauth/v1/refresh-tokens/rt-gone",
        status=404,
        json={"status": "error", "message": "not found", "correlationId": "c"},
    )

    oauth.revoke_refresh_token("rt-1")
    oauth.revoke_refresh_token("rt-gone")

    assert [c.request.method for c in mocked.calls] == ["DELETE", "DELETE"]
