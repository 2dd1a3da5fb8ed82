"""Unregistering: our channel accounts are switched off, the app's channel is deleted only when no
other connection uses it, and nothing we did not create is touched. Includes a platform app shared
by two tenants' portals, where one tenant's unregistration must leave the other's working."""

import pytest

from connections import registration, services
from connections.models import (
    ChannelRegistration,
    ConnectedInbox,
    CustomChannel,
    HubSpotApp,
    InboxState,
    RegistrationState,
)
from connections.webhook_urls import channel_webhook_url
from core.models import AuditLogEntry
from sandbox.models import SandboxChannel, SandboxChannelAccount, SandboxInbox, SandboxPortal, SandboxToken
from sandbox.seed import SCOPES
from tests.connections.helpers import connect, live_channels, sandbox_app

pytestmark = pytest.mark.django_db(transaction=True)

OTHER_PORTAL, OTHER_INBOX = 30300303, 90000201


def state_of(connection) -> str:
    return ChannelRegistration.objects.get(connection=connection).state


def test_unregister_switches_off_our_accounts_and_deletes_our_channel_only(with_inboxes, hubspot, app):
    registration.request_registration(with_inboxes)
    ours = live_channels(hubspot).get()
    unrelated = SandboxChannel.objects.create(
        app=sandbox_app(hubspot), name="Not ours", capabilities={}, webhook_url="https://elsewhere.test/hook"
    )
    duplicate = SandboxChannel.objects.create(
        app=sandbox_app(hubspot), name="Dup", capabilities={}, webhook_url=channel_webhook_url(app)
    )

    registration.request_unregistration(with_inboxes)

    assert state_of(with_inboxes) == RegistrationState.UNREGISTERED
    ours.refresh_from_db()
    assert ours.archived
    assert set(ours.accounts.values_list("authorized", flat=True)) == {False}
    assert set(live_channels(hubspot)) == {unrelated, duplicate}
    assert CustomChannel.objects.get(app=app).channel_id == ""
    assert set(ConnectedInbox.objects.values_list("state", "channel_account_id")) == {
        (InboxState.PENDING, "")
    }
    phases = set(
        AuditLogEntry.objects.filter(action="channel.unregister").values_list("details__phase", flat=True)
    )
    assert phases == {"requested", "started", "finished"}


def test_registering_again_after_unregistering_creates_a_new_channel(with_inboxes, hubspot):
    registration.request_registration(with_inboxes)
    registration.request_unregistration(with_inboxes)

    registration.request_registration(with_inboxes)

    assert state_of(with_inboxes) == RegistrationState.ACTIVE
    channel = live_channels(hubspot).get()
    assert set(channel.accounts.values_list("authorized", flat=True)) == {True}
    assert channel.accounts.count() == 2


def test_unregistering_twice_is_harmless(with_inboxes, hubspot):
    registration.request_registration(with_inboxes)
    registration.request_unregistration(with_inboxes)
    registration.request_unregistration(with_inboxes)

    assert state_of(with_inboxes) == RegistrationState.UNREGISTERED
    assert not live_channels(hubspot).exists()


def test_a_disconnected_connection_can_still_be_unregistered(with_inboxes, hubspot):
    registration.request_registration(with_inboxes)
    services.disconnect(with_inboxes)

    registration.request_unregistration(with_inboxes)

    # The accounts could not be switched off (no token), but they went with the deleted channel.
    assert state_of(with_inboxes) == RegistrationState.UNREGISTERED
    assert not live_channels(hubspot).exists()


# A platform app shared by two tenants ----------------------------------------------------------


@pytest.fixture
def shared(hubspot, tenant_a, tenant_b):
    """Tenant A on the demo portal and tenant B on a second portal, both through one platform app."""
    app = HubSpotApp.objects.create(
        tenant=None,
        name="Platform app",
        app_id=hubspot["app_id"],
        client_id=hubspot["client_id"],
        client_secret=hubspot["client_secret"],
        developer_api_key=hubspot["developer_api_key"],
    )
    portal = SandboxPortal.objects.create(portal_id=OTHER_PORTAL, name="Globex", hub_domain="globex.test")
    SandboxInbox.objects.create(portal=portal, inbox_id=OTHER_INBOX, name="Globex support")
    token = SandboxToken.objects.create(
        kind="refresh", token="globex-refresh", app=sandbox_app(hubspot), portal=portal, scopes=SCOPES
    )
    a = connect(tenant_a, app, portal_id=hubspot["portal_id"], refresh_token=hubspot["refresh_token"])
    b = connect(tenant_b, app, portal_id=OTHER_PORTAL, refresh_token=token.token)
    ConnectedInbox.objects.create(connection=a, inbox_id=hubspot["inbox_ids"][0])
    ConnectedInbox.objects.create(connection=b, inbox_id=OTHER_INBOX)
    registration.request_registration(a)
    registration.request_registration(b)
    return a, b


def account_of(inbox_id) -> SandboxChannelAccount:
    return SandboxChannelAccount.objects.get(inbox__inbox_id=inbox_id)


def test_two_tenants_on_one_platform_app_share_one_channel(shared, hubspot):
    a, b = shared
    assert (state_of(a), state_of(b)) == (RegistrationState.ACTIVE, RegistrationState.ACTIVE)
    channel = live_channels(hubspot).get()
    assert account_of(hubspot["inbox_ids"][0]).channel == channel
    assert account_of(OTHER_INBOX).channel == channel
    assert account_of(OTHER_INBOX).portal.portal_id == OTHER_PORTAL
    assert account_of(OTHER_INBOX).name == "Globex HITL"


def test_one_tenant_unregistering_leaves_the_other_working(shared, hubspot):
    a, b = shared

    registration.request_unregistration(a)

    assert state_of(a) == RegistrationState.UNREGISTERED
    assert state_of(b) == RegistrationState.ACTIVE
    assert live_channels(hubspot).count() == 1
    assert account_of(hubspot["inbox_ids"][0]).authorized is False
    assert account_of(OTHER_INBOX).authorized is True
    assert ConnectedInbox.objects.get(connection=b).state == InboxState.ACTIVE
    entries = AuditLogEntry.objects.filter(action="channel.unregister")
    assert {e.tenant_id for e in entries} == {a.tenant_id}

    registration.request_unregistration(b)

    assert not live_channels(hubspot).exists()
    assert CustomChannel.objects.get().channel_id == ""


def test_unregistering_a_disconnected_connection_whose_channel_is_shared_fails_readably(shared, hubspot):
    a, _b = shared
    services.disconnect(a)

    registration.request_unregistration(a)

    reg = ChannelRegistration.objects.get(connection=a)
    assert reg.state == RegistrationState.FAILED
    assert "connection is disconnected" in reg.detail
    assert live_channels(hubspot).count() == 1
