"""The sandbox's demo bot (the chat page) accepts callbacks in either signature scheme, and answers
the connection page's test event."""

import base64
import json
import secrets

import pytest
from django.urls import reverse

from conversations.callback_signing import standard_headers
from conversations.callbacks import signature_header
from sandbox.demo_bot import signing
from sandbox.models.demo_bot import DemoBot

pytestmark = pytest.mark.django_db

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
PING = json.dumps({"id": "p1", "type": "ping", "escalation_id": None, "conversation_id": None}).encode()


def test_standard_webhooks_verify_independently():
    headers = standard_headers([SECRET], "evt-1", PING)
    assert signing.verify_standard(headers, PING, SECRET)
    assert not signing.verify_standard(headers, PING + b" ", SECRET)
    assert not signing.verify_standard({**headers, "webhook-id": "evt-2"}, PING, SECRET)
    assert not signing.verify_standard(headers, PING, "whsec_" + base64.b64encode(b"x" * 32).decode())


@pytest.fixture
def demo_bot():
    return DemoBot.objects.create(pk=1, connection_id=1, api_key="hitl_x", callback_secret=SECRET)


@pytest.mark.parametrize("scheme", ["hitl", "standard"])
def test_the_demo_bot_answers_a_ping_in_either_scheme(client, demo_bot, scheme):
    if scheme == "hitl":
        headers = {"X-HITL-Signature": signature_header([SECRET], PING)}
    else:
        headers = standard_headers([SECRET], "p1", PING)
    url = reverse("sandbox:app:chat:callback")

    answer = client.post(url, PING, content_type="application/json", headers=headers)
    forged = client.post(url, PING + b" ", content_type="application/json", headers=headers)

    assert answer.status_code == 200 and answer.json() == {"pong": True}
    assert forged.status_code == 401
