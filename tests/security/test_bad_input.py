"""Hostile input answers a clear 4xx, never a 500 (on PostgreSQL, whose text and JSON types refuse
NUL and unpaired surrogates)."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from connections.models import BotApiKey
from tests.factories import ConnectionFactory, InboxFactory, escalation

LIST_URL = "/admin/conversations/escalation/"
LIVE_URL = "/admin/conversations/escalation/live/"
EXPORT_URL = "/admin/conversations/escalation/export.csv"
DASHBOARD_URL = "/admin/conversations/dashboard/"


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


START = {
    "conversation_id": "conv-x",
    "user": {"name": "Ada", "phone": "+447700900001"},
    "title": "Help",
}


@pytest.fixture
def bot(tenant_a):
    inbox = InboxFactory(connection=ConnectionFactory(tenant=tenant_a, name="Acme"))
    _, key = BotApiKey.issue(inbox.connection)
    api = APIClient(raise_request_exception=False)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    api.escalation = escalation(inbox)
    return api


def post_raw(api, path: str, text: str):
    return api.generic("POST", path, text.encode("utf-8", "surrogatepass"), content_type="application/json")


def assert_clear_4xx(response, *words):
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    body = response.json()
    assert body["error"] and body["message"]
    for word in words:
        assert word in body["message"]


@pytest.mark.parametrize(
    "metadata",
    [
        '{"k\\u0000": "v"}',
        '{"k": "v\\u0000"}',
        '{"\\ud800": "v"}',
        '{"k": "\\udfff"}',
        '{"k": ["ok", {"deep": "x\\u0000"}]}',
    ],
)
def test_nul_and_lone_surrogates_in_metadata_are_400(bot, metadata):
    body = json.dumps(START)[:-1] + f', "metadata": {metadata}}}'
    assert_clear_4xx(post_raw(bot, "/api/v1/escalations/", body))


def test_nul_in_the_conversation_id_filter_is_400(bot):
    assert_clear_4xx(bot.get("/api/v1/escalations/?conversation_id=%00"))


@pytest.mark.parametrize("action", ["", "{id}/messages/", "{id}/close/"])
def test_json_nested_1000_deep_is_400_on_every_json_endpoint(bot, action):
    path = "/api/v1/escalations/" + action.format(id=bot.escalation.pk)
    assert_clear_4xx(post_raw(bot, path, nested(1000)), "nested")
    metadata = json.dumps(START)[:-1] + f', "metadata": {nested(1000)}}}'
    assert_clear_4xx(post_raw(bot, "/api/v1/escalations/", metadata), "nested")


@pytest.mark.parametrize("filename", ["a\r\nSet-Cookie: x=1.png", "evil\n.png", "bad\x00.png"])
def test_attachment_file_names_with_control_characters_are_400(bot, filename):
    body = {
        "attachments": [{"content_base64": "aGVsbG8=", "content_type": "image/png", "filename": filename}]
    }
    response = bot.post(f"/api/v1/escalations/{bot.escalation.pk}/messages/", body, format="json")
    assert_clear_4xx(response)


@pytest.fixture
def admin(admin_a, tenant_a):
    escalation(InboxFactory(connection=ConnectionFactory(tenant=tenant_a, name="Acme")))
    client = Client(raise_request_exception=False)
    client.force_login(admin_a)
    return client


@pytest.mark.parametrize("param", ["status", "agent", "close_reason", "inbox", "q", "o", "created_from"])
def test_nul_in_admin_filters_is_400(admin, param):
    response = admin.get(f"{LIST_URL}?{param}=%00")
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-05", "0001-01-01"])
def test_extreme_dates_never_500(admin, day):
    for url in (
        f"{DASHBOARD_URL}?from={day}",
        f"{DASHBOARD_URL}?to={day}",
        f"{DASHBOARD_URL}?from={day}&to={day}",
        f"{LIST_URL}?created_to={day}",
        f"{LIST_URL}?created_from={day}",
        f"{EXPORT_URL}?created_to={day}",
        f"{EXPORT_URL}?created_from={day}",
    ):
        response = admin.get(url)
        assert response.status_code == 400, url


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-05"])
def test_extreme_dates_in_the_dashboard_are_400_with_a_reason(admin, day):
    response = admin.get(f"{DASHBOARD_URL}?from={day}&to={day}")
    assert response.status_code == 400
    assert "between" in response.content.decode()


@pytest.mark.parametrize(
    "since", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "0001-01-05T00:00:00", "9999-12-31"]
)
def test_extreme_live_cursor_is_400(admin, since):
    response = admin.get(f"{LIVE_URL}?since={since}")
    assert response.status_code == 400
    assert response.json()["error"] == "bad_cursor"


def test_a_stored_file_name_with_cr_lf_downloads_without_splitting_a_header(db):
    from sandbox.models import SandboxFile, SandboxPortal
    from sandbox.serializers import file_token

    portal = SandboxPortal.objects.create(portal_id=62515, name="Acme", hub_domain="acme.example.com")
    file = SandboxFile.objects.create(
        portal=portal, name="a\r\nSet-Cookie: x=1.png", content_type="image/png", content=b"png", size=3
    )
    client = Client(raise_request_exception=False)
    response = client.get(f"/sandbox/api/_files/{file.pk}/{file_token(file)}/a.png")

    assert response.status_code == 200
    assert "\n" not in response["Content-Disposition"] and "\r" not in response["Content-Disposition"]
    assert "Set-Cookie" not in response.headers
