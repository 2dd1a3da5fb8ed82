"""Tests against a real HubSpot developer test account (`make hubspot-live`); never in CI.

They run only when every HUBSPOT_LIVE_* variable below is set (see .env.example) and are excluded
from the default run by the `hubspot_live` marker (pyproject's addopts), so the suite never sends a
request to HubSpot by accident. They point the portal's HubSpot base URLs at HubSpot itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

REQUIRED = (
    "HUBSPOT_LIVE_APP_ID",
    "HUBSPOT_LIVE_CLIENT_ID",
    "HUBSPOT_LIVE_CLIENT_SECRET",
    "HUBSPOT_LIVE_DEVELOPER_API_KEY",
    "HUBSPOT_LIVE_REFRESH_TOKEN",
    "HUBSPOT_LIVE_INBOX_ID",
    "HUBSPOT_LIVE_CONTACT_EMAIL",
)


@dataclass(frozen=True)
class Live:
    app_id: int
    client_id: str
    client_secret: str
    developer_api_key: str
    refresh_token: str
    inbox_id: int
    contact_email: str
    # A public https URL where HubSpot reaches this portal's webhooks (optional: without it the
    # round trip stops before the steps that need HubSpot to call back).
    public_base_url: str


def missing_variables() -> list[str]:
    return [name for name in REQUIRED if not os.environ.get(name)]


def skip_reason() -> str:
    missing = missing_variables()
    return f"needs a HubSpot developer test account: set {', '.join(missing)} (see .env.example)"


def pytest_runtest_setup(item):
    # Before any fixture (no test database is made for a test that cannot run).
    if missing_variables():
        pytest.skip(skip_reason())


@pytest.fixture
def live(settings) -> Live:
    if missing_variables():
        pytest.skip(skip_reason())
    settings.HUBSPOT_SANDBOX = False
    settings.HUBSPOT_API_BASE = "https://api.hubapi.com"
    settings.HUBSPOT_APP_BASE = "https://app.hubspot.com"
    public = os.environ.get("HUBSPOT_LIVE_PUBLIC_BASE_URL", "")
    if public:
        settings.PUBLIC_BASE_URL = public
    return Live(
        app_id=int(os.environ["HUBSPOT_LIVE_APP_ID"]),
        client_id=os.environ["HUBSPOT_LIVE_CLIENT_ID"],
        client_secret=os.environ["HUBSPOT_LIVE_CLIENT_SECRET"],
        developer_api_key=os.environ["HUBSPOT_LIVE_DEVELOPER_API_KEY"],
        refresh_token=os.environ["HUBSPOT_LIVE_REFRESH_TOKEN"],
        inbox_id=int(os.environ["HUBSPOT_LIVE_INBOX_ID"]),
        contact_email=os.environ["HUBSPOT_LIVE_CONTACT_EMAIL"],
        public_base_url=public,
    )
