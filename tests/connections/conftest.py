"""Fixtures of the connection-service tests: the sandbox HubSpot over live_server, a connected portal.

(Reconstructed by the admin-console engineer after accidentally overwriting the original; the
owner of the service tests should check it against what they wrote.)
"""

import pytest

from connections.models import ConnectedInbox
from sandbox.models import SandboxApp, SandboxBehaviour, SandboxPortal
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


# -- OAuth consent (test_consent_flow, test_app_scopes): a bare sandbox portal and app, no seed ------


@pytest.fixture
def consent_hubspot(live_server, settings):
    """The sandbox portal 4242 and app 777 that consent is given for, over HTTP at the live server."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.HUBSPOT_API_BASE = f"{live_server.url}/sandbox/api"
    settings.HUBSPOT_APP_BASE = f"{live_server.url}/sandbox/app"
    portal = SandboxPortal.objects.create(portal_id=4242, name="Acme HubSpot", hub_domain="acme.hubspot.test")
    sandbox_app = SandboxApp.objects.create(
        app_id=777, name="HITL", client_id="cid-777", client_secret="secret-777", developer_api_key="dev-777"
    )
    return portal, sandbox_app


@pytest.fixture
def consent_app(tenant_a):
    """Tenant A's record of the sandbox app 777."""
    return HubSpotAppFactory(
        tenant=tenant_a,
        app_id=777,
        client_id="cid-777",
        client_secret="secret-777",
        developer_api_key="dev-777",
    )
