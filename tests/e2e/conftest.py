"""End-to-end fixtures: the whole product over real HTTP at live_server, the sandbox as HubSpot,
and a bot (a callback receiver) on another port."""

import io
import json

import pytest
from django.core.management import call_command

from tests.e2e.callback_receiver import CallbackReceiver


@pytest.fixture
def e2e_settings(live_server, settings):
    """Every URL the portal builds or calls points at the live server (as PUBLIC_BASE_URL)."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.HUBSPOT_API_BASE = f"{live_server.url}/sandbox/api"
    settings.HUBSPOT_APP_BASE = f"{live_server.url}/sandbox/app"
    settings.HITL_ALLOW_PRIVATE_CALLBACKS = True  # the bot listens on 127.0.0.1
    # Short callback retries (10 s, 30 s… in production), so a failing bot recovers within a test.
    settings.HITL_CALLBACK_RETRY_SCHEDULE = [1, 1, 2, 2, 3]
    return settings


@pytest.fixture
def provisioned(e2e_settings):
    """`provision_connection --sandbox --json`: a registered sandbox connection, key and secret."""
    out = io.StringIO()
    call_command("provision_connection", "--sandbox", "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def bot(provisioned):
    receiver = CallbackReceiver().start()
    receiver.secret = provisioned["callback_secret"]
    yield receiver
    receiver.stop()


@pytest.fixture
def e2e_worker(e2e_settings, start_celery_worker):
    """A real worker, started after `e2e_settings` pointed settings (URLs, short callback retries)
    at the live server, so the subprocess gets the same."""
    return start_celery_worker("e2e")
