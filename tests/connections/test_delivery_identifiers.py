"""Channel accounts carry a CHANNEL_SPECIFIC_OPAQUE_ID, against the sandbox over HTTP.

HubSpot cannot add a delivery identifier to an existing account (the update body has only `name`
and `authorized`), so a connection registered the old way is upgraded by replacing its accounts.
"""

import pytest

from connections import registration
from connections.hubspot.channels import account_identifier
from connections.models import ChannelRegistration, ConnectedInbox, CustomChannel, RegistrationState
from connections.webhook_urls import channel_webhook_url
from core.models import AuditLogEntry
from sandbox.models import SandboxChannel, SandboxChannelAccount, SandboxInbox
from tests.connections.helpers import accounts_by_inbox, live_channels, sandbox_app

pytestmark = pytest.mark.django_db(transaction=True)

OLD_CAPABILITIES = {
    "deliveryIdentifierTypes": ["HS_EMAIL_ADDRESS", "HS_PHONE_NUMBER"],
    "threadingModel": "INTEGRATION_THREAD_ID",
    "allowOutgoingMessages": True,
}


def expected_identifier(app, hubspot, inbox_id) -> str:
    return f"hitl-{app.app_id}-{hubspot['portal_id']}-{inbox_id}"


def test_identifier_is_derived_from_app_portal_and_inbox_and_is_stable():
    first = account_identifier(7, 42, 3001)
    assert first == {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": "hitl-7-42-3001"}
    assert account_identifier("7", "42", "3001") == first
    others = {account_identifier(8, 42, 3001)["value"], account_identifier(7, 43, 3001)["value"]}
    others.add(account_identifier(7, 42, 3002)["value"])
    assert first["value"] not in others and len(others) == 3


def test_channel_declares_opaque_ids_and_each_account_carries_its_identifier(with_inboxes, hubspot, app):
    registration.request_registration(with_inboxes)

    assert ChannelRegistration.objects.get(connection=with_inboxes).state == RegistrationState.ACTIVE
    channel = live_channels(hubspot).get()
    assert "CHANNEL_SPECIFIC_OPAQUE_ID" in channel.capabilities["deliveryIdentifierTypes"]
    accounts = accounts_by_inbox(hubspot)
    for inbox in ConnectedInbox.objects.filter(connection=with_inboxes):
        (account,) = accounts[inbox.inbox_id]
        value = expected_identifier(app, hubspot, inbox.inbox_id)
        assert (account.delivery_identifier_type, account.delivery_identifier_value) == (
            "CHANNEL_SPECIFIC_OPAQUE_ID",
            value,
        )
        assert inbox.delivery_identifier == value
        assert inbox.channel_account_id == str(account.pk)


def _register_the_old_way(connection, hubspot, app) -> dict[int, SandboxChannelAccount]:
    """What a run before delivery identifiers left behind: a channel declaring only email and
    phone, and one authorized account per inbox without an identifier."""
    channel = SandboxChannel.objects.create(
        app=sandbox_app(hubspot),
        name="Chatbot handoff",
        capabilities=OLD_CAPABILITIES,
        webhook_url=channel_webhook_url(app),
    )
    CustomChannel.objects.create(app=app, channel_id=str(channel.pk), webhook_url=channel_webhook_url(app))
    old = {}
    for inbox in ConnectedInbox.objects.filter(connection=connection):
        sandbox_inbox = SandboxInbox.objects.get(inbox_id=inbox.inbox_id)
        old[inbox.inbox_id] = SandboxChannelAccount.objects.create(
            channel=channel,
            portal_id=sandbox_inbox.portal_id,
            inbox=sandbox_inbox,
            name="Acme HITL",
            authorized=True,
        )
        inbox.channel_account_id = str(old[inbox.inbox_id].pk)
        inbox.state = "active"
        inbox.save()
    return old


def test_rerun_upgrades_an_old_registration_without_duplicates(with_inboxes, hubspot, app):
    old = _register_the_old_way(with_inboxes, hubspot, app)

    for _ in range(3):
        registration.request_registration(with_inboxes)

    reg = ChannelRegistration.objects.get(connection=with_inboxes)
    assert reg.state == RegistrationState.ACTIVE, reg.detail
    (channel,) = live_channels(hubspot)
    assert channel.pk == int(CustomChannel.objects.get(app=app).channel_id)
    assert channel.capabilities["deliveryIdentifierTypes"] == [
        "HS_EMAIL_ADDRESS",
        "HS_PHONE_NUMBER",
        "CHANNEL_SPECIFIC_OPAQUE_ID",
    ]
    assert channel.capabilities["threadingModel"] == "INTEGRATION_THREAD_ID"
    accounts = accounts_by_inbox(hubspot)
    for inbox in ConnectedInbox.objects.filter(connection=with_inboxes):
        retired, new = accounts[inbox.inbox_id]
        assert retired.pk == old[inbox.inbox_id].pk and retired.authorized is False
        assert new.authorized is True
        assert new.delivery_identifier_value == expected_identifier(app, hubspot, inbox.inbox_id)
        assert (inbox.channel_account_id, inbox.delivery_identifier) == (
            str(new.pk),
            new.delivery_identifier_value,
        )
    replaced = AuditLogEntry.objects.filter(action="channel.register", details__phase="account_replaced")
    assert sorted(e.details["replaced"] for e in replaced) == sorted([[str(a.pk)] for a in old.values()])


def test_a_lost_local_id_finds_the_account_by_its_identifier(with_inboxes, hubspot):
    registration.request_registration(with_inboxes)
    before = {i: [a.pk for a in accounts] for i, accounts in accounts_by_inbox(hubspot).items()}
    ConnectedInbox.objects.filter(connection=with_inboxes).update(
        channel_account_id="", delivery_identifier=""
    )

    registration.request_registration(with_inboxes)

    assert {i: [a.pk for a in accounts] for i, accounts in accounts_by_inbox(hubspot).items()} == before
    assert all(a.authorized for accounts in accounts_by_inbox(hubspot).values() for a in accounts)
    assert not ConnectedInbox.objects.filter(connection=with_inboxes, delivery_identifier="").exists()
