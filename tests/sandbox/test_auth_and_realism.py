"""Auth failures, scopes, rate limiting and injected failures, answered the way HubSpot answers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sandbox.models import SandboxBehaviour
from tests.sandbox.conftest import mint_token

INBOXES = "/conversations/v3/conversations/inboxes"


def test_missing_bearer_is_401_invalid_authentication(api, portal):
    response = api.get(INBOXES)
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == "error"
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["message"].startswith("Authentication credentials not found.")
    assert body["correlationId"] == response["X-HubSpot-Correlation-Id"]
    assert response["X-HubSpot-Auth-Failure"] == "401 Unauthorized"


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Basic Zm9vOmJhcg==", "Bearer "])
def test_unknown_bearer_is_401(api, portal, header):
    response = api.get(INBOXES, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["category"] == "INVALID_AUTHENTICATION"


def test_expired_token_gets_hubspots_expired_message(api, portal):
    expired = mint_token(
        portal.seed["refresh_token"], expires_at=timezone.now() - timedelta(minutes=5, seconds=3)
    )
    response = api.get(INBOXES, **portal.bearer(expired.token))
    assert response.status_code == 401
    body = response.json()
    assert body["category"] == "EXPIRED_AUTHENTICATION"
    assert body["message"] == "The OAuth token used to make this call expired 5 minute(s) ago."
    assert body["context"]["expire time"][0].endswith("Z")


def test_revoked_token_is_401(api, portal):
    revoked = mint_token(portal.seed["refresh_token"], revoked_at=timezone.now())
    assert api.get(INBOXES, **portal.bearer(revoked.token)).status_code == 401


def test_token_without_scope_is_403_missing_scopes(api, portal):
    narrow = mint_token(portal.seed["refresh_token"], scopes=["oauth", "crm.objects.contacts.read"])
    response = api.get(INBOXES, **portal.bearer(narrow.token))
    assert response.status_code == 403
    body = response.json()
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == ["conversations.read"]


def test_hapikey_endpoints_reject_missing_wrong_and_foreign_keys(api, portal):
    path = "/conversations/v3/custom-channels"
    assert api.get(path).status_code == 401
    # A Bearer token is not a developer key.
    assert api.get(path, **portal.bearer()).status_code == 401
    wrong = api.get(f"{path}?hapikey=nope")
    assert wrong.status_code == 401
    assert wrong.json()["message"].startswith("The API key provided is invalid.")
    assert api.get(f"{path}?hapikey={portal.key}&appId=1").status_code == 403
    ok = api.get(f"{path}?hapikey={portal.key}&appId={portal.seed['app_id']}", **portal.bearer())
    assert ok.status_code == 200
    assert ok.json() == {"total": 0, "results": []}


def test_webhooks_api_refuses_another_apps_path(api, portal):
    response = api.get(f"/webhooks/v3/{portal.seed['app_id'] + 1}/settings?hapikey={portal.key}")
    assert response.status_code == 403


def test_success_carries_rate_limit_headers(api, portal):
    response = api.get(INBOXES, **portal.bearer())
    assert response.status_code == 200
    assert response["X-HubSpot-RateLimit-Max"] == "100"
    assert response["X-HubSpot-RateLimit-Remaining"] == "99"
    assert response["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"


def test_rate_limit_returns_429_with_retry_after(api, portal, behaviour):
    SandboxBehaviour.objects.filter(pk=behaviour.pk).update(rate_limit_per_10s=2)
    first = api.get(INBOXES, **portal.bearer())
    second = api.get(INBOXES, **portal.bearer())
    assert (first["X-HubSpot-RateLimit-Remaining"], second["X-HubSpot-RateLimit-Remaining"]) == ("1", "0")
    third = api.get(INBOXES, **portal.bearer())
    assert third.status_code == 429
    assert 1 <= int(third["Retry-After"]) <= 10
    assert third["X-HubSpot-RateLimit-Max"] == "2"
    assert third["X-HubSpot-RateLimit-Remaining"] == "0"
    body = third.json()
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["category"] == "RATE_LIMITS"


def test_rate_limit_is_per_app_and_portal(api, portal, behaviour):
    SandboxBehaviour.objects.filter(pk=behaviour.pk).update(rate_limit_per_10s=1)
    assert api.get(INBOXES, **portal.bearer()).status_code == 200
    assert api.get(INBOXES, **portal.bearer()).status_code == 429
    # The developer key is another bucket (app, no portal).
    assert api.get(f"/conversations/v3/custom-channels?hapikey={portal.key}").status_code == 200


def test_injected_failures_count_down_and_honour_the_path_filter(api, portal, behaviour):
    SandboxBehaviour.objects.filter(pk=behaviour.pk).update(
        fail_next_requests=2, fail_status=503, fail_path_contains="/inboxes"
    )
    assert api.get("/conversations/v3/conversations/threads", **portal.bearer()).status_code == 200
    first = api.get(INBOXES, **portal.bearer())
    assert first.status_code == 503
    assert first["Retry-After"] == "1"
    assert first.json()["status"] == "error"
    assert api.get(INBOXES, **portal.bearer()).status_code == 503
    assert api.get(INBOXES, **portal.bearer()).status_code == 200
    assert SandboxBehaviour.current().fail_next_requests == 0


def test_injected_failure_hits_even_unauthenticated_calls(api, portal, behaviour):
    SandboxBehaviour.objects.filter(pk=behaviour.pk).update(fail_next_requests=1, fail_status=500)
    assert api.post("/oauth/v1/token", {"grant_type": "refresh_token"}).status_code == 500
    assert api.post("/oauth/v1/token", {"grant_type": "refresh_token"}).status_code == 400


def test_unsupported_method_is_405(api, portal):
    response = api.put(INBOXES, {}, **portal.bearer())
    assert response.status_code == 405
    assert response["Allow"] == "GET"
