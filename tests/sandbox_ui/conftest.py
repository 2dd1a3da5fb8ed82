"""Fixtures for the sandbox's human-facing pages and outgoing webhooks."""

import pytest

from tests.browser import log_in
from tests.factories import UserFactory
from tests.sandbox_ui.receiver import Receiver
from tests.sandbox_ui.world import build_world


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


def _world(receiver):
    return build_world(
        app_webhook_url=receiver.url("/app-hook"),
        channel_webhook_url=receiver.url("/channel-hook?channel=1"),
    )


@pytest.fixture
def world(db, receiver):
    """A portal with a thread, built inside the test's transaction: webhooks are only queued,
    and (one transaction, one batch) every event of the test joins the same delivery."""
    return _world(receiver)


@pytest.fixture
def live_world(transactional_db, receiver):
    """The same, committed: each request commits and its webhooks really reach the receiver."""
    world = _world(receiver)
    receiver.wait_for(1, path="/app-hook")  # creation + newMessage of the visitor's first message
    return world


@pytest.fixture
def staff(db):
    """The person at the sandbox's pages: they need a signed-in staff user (sandbox/access.py)."""
    return UserFactory(username="sandbox-staff", is_staff=True, is_superuser=True)


@pytest.fixture
def client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def page(page, live_server, staff):
    log_in(page, live_server.url, staff)
    return page
