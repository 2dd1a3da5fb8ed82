"""OAuth error answers, token info edge cases, and the idempotent demo seed."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from sandbox.models import (
    SandboxActor,
    SandboxAuthCode,
    SandboxContact,
    SandboxInbox,
    SandboxPortal,
    SandboxToken,
)
from sandbox.seed import seed_demo
from tests.sandbox.conftest import mint_token

REDIRECT = "https://portal.example/cb"


def post_form(client, data):
    from urllib.parse import urlencode

    return client.post(
        "/sandbox/api/oauth/v1/token", urlencode(data), content_type="application/x-www-form-urlencoded"
    )


@pytest.fixture
def code(portal):
    return SandboxAuthCode.objects.create(
        code="the-code",
        app=portal.app,
        portal=SandboxPortal.objects.get(portal_id=portal.seed["portal_id"]),
        scopes=["oauth"],
        redirect_uri=REDIRECT,
        user_email="someone@example.com",
        expires_at=timezone.now() + timedelta(minutes=1),
    )


def creds(portal, **changes):
    return {"client_id": portal.seed["client_id"], "client_secret": portal.seed["client_secret"]} | changes


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"client_id": "unknown"}, "BAD_CLIENT_ID"),
        ({"client_secret": "wrong"}, "BAD_CLIENT_SECRET"),
        ({"redirect_uri": "https://elsewhere/cb"}, "BAD_REDIRECT_URI"),
        ({"code": "other"}, "BAD_AUTH_CODE"),
        ({"grant_type": "password"}, "BAD_GRANT_TYPE"),
    ],
)
def test_code_exchange_errors(client, portal, code, changes, status):
    data = {"grant_type": "authorization_code", "code": "the-code", "redirect_uri": REDIRECT, **creds(portal)}
    response = post_form(client, data | changes)
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == status
    assert set(body) == {"status", "message", "correlationId", "category"}
    code.refresh_from_db()
    assert code.used_at is None


def test_expired_code_is_rejected(client, portal, code):
    SandboxAuthCode.objects.filter(pk=code.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    data = {"grant_type": "authorization_code", "code": "the-code", "redirect_uri": REDIRECT, **creds(portal)}
    assert post_form(client, data).json()["status"] == "EXPIRED_AUTH_CODE"


def test_code_exchange_accepts_json_and_issues_tokens(client, portal, code, behaviour):
    behaviour.access_token_ttl_seconds = 60
    behaviour.save()
    data = {"grant_type": "authorization_code", "code": "the-code", "redirect_uri": REDIRECT, **creds(portal)}
    response = client.post("/sandbox/api/oauth/2026-03/token", data, content_type="application/json")
    assert response.status_code == 200
    body = response.json()
    assert body["expires_in"] == 60
    assert body["token_use"] == "access_token"
    access = SandboxToken.objects.get(token=body["access_token"])
    assert (access.kind, access.portal.portal_id, access.user_email) == (
        "access",
        portal.seed["portal_id"],
        code.user_email,
    )
    assert SandboxToken.objects.get(token=body["refresh_token"]).kind == "refresh"


def test_refresh_with_another_apps_credentials_fails(client, portal):
    from sandbox.models import SandboxApp

    SandboxApp.objects.create(
        app_id=9, name="x", client_id="x-id", client_secret="x-secret", developer_api_key="k"
    )
    data = {
        "grant_type": "refresh_token",
        "refresh_token": portal.seed["refresh_token"],
        "client_id": "x-id",
        "client_secret": "x-secret",
    }
    assert post_form(client, data).json()["status"] == "BAD_REFRESH_TOKEN"


def test_access_token_info_for_expired_and_unknown_tokens(client, portal):
    expired = mint_token(portal.seed["refresh_token"], expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(f"/sandbox/api/oauth/v1/access-tokens/{expired.token}").status_code == 404
    assert client.get("/sandbox/api/oauth/v1/access-tokens/nope").status_code == 404
    live = client.get(f"/sandbox/api/oauth/v1/access-tokens/{portal.token}").json()
    assert live["hub_id"] == portal.seed["portal_id"]
    assert 1790 <= live["expires_in"] <= 1800


def test_introspecting_an_expired_token_reports_it_inactive(client, portal):
    expired = mint_token(portal.seed["refresh_token"], expires_at=timezone.now() - timedelta(seconds=1))
    body = client.post(
        "/sandbox/api/oauth/2026-03/token/introspect",
        {"token": expired.token, **creds(portal)},
        content_type="application/json",
    ).json()
    assert (body["active"], body["expires_in"]) == (False, 0)


# Seed ------------------------------------------------------------------------------------------


def test_seed_is_idempotent_and_complete(db):
    first = seed_demo("http://demo.example")
    counts = [
        m.objects.count() for m in (SandboxPortal, SandboxInbox, SandboxContact, SandboxActor, SandboxToken)
    ]
    second = seed_demo("http://demo.example")
    assert second == first
    assert [
        m.objects.count() for m in (SandboxPortal, SandboxInbox, SandboxContact, SandboxActor, SandboxToken)
    ] == counts
    assert first["api_base"] == "http://demo.example/sandbox/api"
    assert first["app_base"] == "http://demo.example/sandbox/app"
    assert len(first["inbox_ids"]) == 2
    assert len(first["agents"]) == 3
    assert all(c["phone"].startswith("+") and "@" in c["email"] for c in first["contacts"])
    token = SandboxToken.objects.get(token=first["refresh_token"])
    assert set(token.scopes) >= {
        "conversations.custom_channels.read",
        "conversations.custom_channels.write",
        "conversations.read",
        "conversations.write",
        "crm.objects.contacts.read",
        "files",
        "conversations.visitor_identification.tokens.create",
    }


def test_seed_command_prints_one_json_object(db, settings):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    out = StringIO()
    call_command("sandbox_seed", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert set(data) >= {
        "api_base",
        "app_base",
        "portal_id",
        "app_id",
        "client_id",
        "client_secret",
        "developer_api_key",
        "refresh_token",
        "inbox_ids",
        "contacts",
        "agents",
    }
    assert data["api_base"] == "http://127.0.0.1:8000/sandbox/api"
    again = StringIO()
    call_command("sandbox_seed", "--json", "--base-url", "http://127.0.0.1:8000/", stdout=again)
    assert json.loads(again.getvalue()) == data
