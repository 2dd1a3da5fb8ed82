"""Fixtures of the bot API tests: the sandbox HubSpot over live_server, a fully provisioned
connection (channel registered, inboxes connected) and its bot API key, and an HTTP client for
the bot API on the same live server (real HTTP, as a bot would call it)."""

from __future__ import annotations

import io
import json

import pytest
import requests
from django.core.management import call_command

# The seeded demo contacts (sandbox/seed.py).
ADA_PHONE = "+447700900001"
ADA_EMAIL = "ada@example.com"


@pytest.fixture
def hubspot(hubspot, settings):
    # The root fixture, plus callbacks to the test's own receiver on 127.0.0.1.
    settings.HITL_ALLOW_PRIVATE_CALLBACKS = True
    return hubspot


@pytest.fixture
def provisioned(hubspot):
    """`provision_connection --sandbox --json`: the connection, keys and ids, as a dict."""
    out = io.StringIO()
    call_command("provision_connection", "--sandbox", "--json", stdout=out)
    return json.loads(out.getvalue())


class BotClient:
    """requests against /api/v1/ with the bot's key; `.post(path, json)` returns the Response."""

    def __init__(self, base: str, key: str | None):
        self.base = base
        self.session = requests.Session()
        if key:
            self.session.headers["Authorization"] = f"Bearer {key}"

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base}/api/v1/{path.lstrip('/')}"

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session.get(self.url(path), timeout=60, **kwargs)

    def post(self, path: str, json=None, **kwargs) -> requests.Response:
        return self.session.post(self.url(path), json=json, timeout=60, **kwargs)


@pytest.fixture
def bot(live_server, provisioned) -> BotClient:
    return BotClient(live_server.url, provisioned["bot_api_key"])


def start_body(**overrides) -> dict:
    body = {
        "conversation_id": "conv-1",
        "user": {"name": "Ada Lovelace", "phone": "+44 7700 900001"},
        "title": "Refund for order 42",
        "description": "The parcel arrived damaged.",
        "transcript": [
            {"role": "user", "text": "My parcel is broken", "at": "2026-01-01T10:00:00Z"},
            {"role": "bot", "text": "Sorry to hear that. Let me get a person.", "at": "2026-01-01T10:00:05Z"},
        ],
    }
    body.update(overrides)
    return body
