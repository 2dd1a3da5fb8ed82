"""Fixtures of the connection-service tests: the sandbox HubSpot over live_server, a connected portal.

(Reconstructed by the admin-console engineer after accidentally overwriting the original; the
owner of the service tests should check it against what they wrote.)
"""

import pytest

from connections.models import ConnectedInbox
from sandbox.models import SandboxBehaviour
from tests.connections.helpers import connect
from tests.factories import HubSpotAppFactory


@pytest.fixture
def app(tenant_a, hubspot):
    return HubSpotAppFactory(
        tenant=tenant_a,
        name="Demo app",
        app_id=hubspot["app_id"],
        client_id=hubspot["client_id"],
        client_secret=hubspot["client_secret"],
        developer_api_key=hubspot["developer_api_key"],
    )


@pytest.fixture
def connection(tenant_a, app, hubspot):
    return connect(tenant_a, app, portal_id=hubspot["portal_id"], refresh_token=hubspot["refresh_token"])


@pytest.fixture
def with_inboxes(connection, hubspot):
    for position, inbox_id in enumerate(hubspot["inbox_ids"]):
        ConnectedInbox.objects.create(connection=connection, inbox_id=inbox_id, position=position)
    return connection


@pytest.fixture
def behaviour(hubspot):
    return SandboxBehaviour.current()
