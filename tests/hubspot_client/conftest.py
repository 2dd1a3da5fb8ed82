"""Fixtures of the HubSpot client tests: HubSpot-shaped payloads (sources in
tests/fixtures/SOURCES.json), a mocked HubSpot, a recorded sleep."""

import copy
import json
import logging
from pathlib import Path

import pytest
import responses
from django.core.cache import cache

from connections.hubspot import HubSpotClient, HubSpotDeveloperClient, Transport
from tests.hubspot_client.factories import AppFactory, ConnectionFactory

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "hubspot"
API = "https://api.hubapi.com"
APP = "https://app.hubspot.com"


def load_fixture(name: str):
    """A HubSpot answer fixture, `<operation>__<variant>` (shape source: SOURCES.json); a fresh copy."""
    with (FIXTURES / f"{name}.json").open() as f:
        return copy.deepcopy(json.load(f))


@pytest.fixture(autouse=True)
def hubspot_settings(settings):
    settings.HUBSPOT_API_BASE = API
    settings.HUBSPOT_APP_BASE = APP
    settings.HUBSPOT_API_VERSION = "2026-03"
    settings.HUBSPOT_MAX_RETRIES = 3
    settings.HUBSPOT_RATE_LIMIT_PER_10S = 90
    settings.HUBSPOT_TOKEN_REFRESH_MARGIN_SECONDS = 300
    cache.clear()
    yield settings
    cache.clear()


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


class SleepRecorder:
    def __init__(self):
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(round(seconds, 6))


@pytest.fixture
def sleeps():
    return SleepRecorder()


@pytest.fixture
def transport(sleeps):
    # Jitter off (the full cap), so delays are exact: 0.5, 1, 2, ...
    return Transport(sleep=sleeps, jitter=lambda cap: cap)


@pytest.fixture
def app(db):
    return AppFactory()


@pytest.fixture
def connection(app):
    return ConnectionFactory(app=app, tenant=app.tenant)


@pytest.fixture
def client(connection, transport):
    return HubSpotClient.for_connection(connection, transport=transport)


@pytest.fixture
def dev_client(app, transport):
    return HubSpotDeveloperClient.for_app(app, transport=transport)


@pytest.fixture
def hubspot_logs(caplog):
    caplog.set_level(logging.DEBUG, logger="hubspot")
    return caplog


def body_of(call) -> dict:
    return json.loads(call.request.body)
