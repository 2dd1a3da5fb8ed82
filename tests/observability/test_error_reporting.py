"""SENTRY_DSN turns on error reporting; what leaves the process carries no token, secret or bot key.

The events are captured by a local transport (nothing is sent anywhere): exactly the bytes the SDK
would have sent to Sentry."""

from __future__ import annotations

import logging
from unittest import mock

import pytest
import sentry_sdk
from django.test import Client
from sentry_sdk.transport import Transport

from core import error_reporting

ACCESS_TOKEN = "pat-na1-0f0f0f0f-1111-2222-3333-444455556666"
BOT_KEY = "hitl_" + "K3y" * 14
CALLBACK_SECRET = "whsec_" + "QUJD" * 10 + "ZA=="
CLIENT_SECRET = "cs-9d8c7b6a-5f4e-3d2c-1b0a"
SECRETS = [ACCESS_TOKEN, BOT_KEY, CALLBACK_SECRET, CLIENT_SECRET, "K3yK3yK3y", "abc123hapi"]


class Capture(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)

    def sent(self) -> bytes:
        return b"".join(envelope.serialize() for envelope in self.envelopes)


@pytest.fixture
def sentry(settings):
    settings.SENTRY_DSN = "https://public@sentry.invalid/1"
    transport = Capture()
    assert error_reporting.setup(transport=transport)
    yield transport
    sentry_sdk.init()  # no DSN: reporting off again for the other tests


def test_off_without_a_dsn(settings):
    settings.SENTRY_DSN = ""
    assert error_reporting.setup() is False


def failing_hubspot_call():
    access_token = ACCESS_TOKEN  # noqa: F841 - a local variable, as Sentry records frames' locals
    plaintext = BOT_KEY  # noqa: F841
    app = {"client_secret": CLIENT_SECRET, "name": "Acme app"}  # noqa: F841
    url = "https://api.hubapi.com/crm/v3/objects/contacts?hapikey=abc123hapi&limit=1"
    raise RuntimeError(
        f"HubSpot refused {url} (Authorization: Bearer {ACCESS_TOKEN}); "
        f"bot key {BOT_KEY}, callback secret {CALLBACK_SECRET}"
    )


def test_a_captured_exception_carries_no_secret(sentry):
    try:
        failing_hubspot_call()
    except RuntimeError:
        sentry_sdk.capture_exception()
    logging.getLogger("conversations.callbacks").error(
        "callback failed with secret %s and key %s", CALLBACK_SECRET, BOT_KEY
    )
    sentry_sdk.flush()

    sent = sentry.sent()
    assert b"RuntimeError" in sent and b"failing_hubspot_call" in sent  # it was reported
    assert b"callback failed with secret" in sent
    for secret in SECRETS:
        assert secret.encode() not in sent, secret


@pytest.mark.django_db
def test_a_500_of_the_bot_api_reports_without_the_bot_key_or_personal_data(sentry, tenant_a):
    from connections.models import BotApiKey, Connection, ConnectionStatus
    from tests.factories import HubSpotAppFactory

    app = HubSpotAppFactory(tenant=tenant_a)
    connection = Connection.objects.create(
        tenant=tenant_a, app=app, portal_id=9, status=ConnectionStatus.ACTIVE
    )
    _key, plaintext = BotApiKey.issue(connection)
    client = Client(raise_request_exception=False)
    body = {
        "conversation_id": "c1",
        "user": {"name": "Ada Lovelace", "email": "ada@example.com"},
        "title": "t",
    }

    with mock.patch("conversations.escalations.start", side_effect=RuntimeError("boom")):
        response = client.post(
            "/api/v1/escalations/",
            body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {plaintext}", "X-Request-ID": "req-sentry-1", "Cookie": "a=b"},
        )
    sentry_sdk.flush()

    assert response.status_code == 500
    sent = sentry.sent()
    assert b"boom" in sent and b"req-sentry-1" in sent  # reported, tagged with the request id
    assert plaintext.encode() not in sent and plaintext[5:].encode() not in sent
    assert b"ada@example.com" not in sent  # request bodies are personal data: not sent
