"""No HubSpot call while a row lock is held: while the call runs, another connection can lock the
rows the service changes without waiting (SELECT … FOR UPDATE NOWAIT)."""

import threading
from contextlib import ExitStack, contextmanager
from unittest import mock

import pytest
from django.db import connection as db_connection
from django.db import transaction

from connections import registration, services
from connections.hubspot import HubSpotClient, HubSpotDeveloperClient, OAuthClient
from connections.inboxes import remove_inbox
from connections.models import (
    ChannelRegistration,
    ConnectedInbox,
    Connection,
    CustomChannel,
    InboxState,
    RegistrationState,
)
from tests.connections.helpers import accounts_by_inbox

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def lockable_elsewhere(queryset) -> bool:
    """True if another database connection can lock the rows at once."""
    answer = []

    def probe():
        try:
            with transaction.atomic():
                list(queryset.select_for_update(nowait=True))
            answer.append(True)
        except Exception:
            answer.append(False)
        finally:
            db_connection.close()

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join(timeout=10)
    return answer == [True]


def test_disconnect_revokes_after_releasing_the_connection_row(connection, hubspot):
    seen = []
    real = OAuthClient.revoke_refresh_token

    def revoke(self, token):
        seen.append(lockable_elsewhere(Connection.objects.filter(pk=connection.pk)))
        return real(self, token)

    with mock.patch.object(OAuthClient, "revoke_refresh_token", revoke):
        assert services.disconnect(connection)["revoked"] is True
    assert seen == [True]


def test_remove_inbox_switches_the_account_off_after_releasing_the_inbox_row(with_inboxes, hubspot):
    registration.request_registration(with_inboxes)
    inbox_id = hubspot["inbox_ids"][0]
    seen = []
    real = HubSpotClient.update_channel_account

    def update(self, *args, **kwargs):
        seen.append(lockable_elsewhere(ConnectedInbox.objects.filter(inbox_id=inbox_id)))
        return real(self, *args, **kwargs)

    with mock.patch.object(HubSpotClient, "update_channel_account", update):
        removed = remove_inbox(with_inboxes, inbox_id)
    assert seen == [True]
    assert removed.state == "removed" and removed.last_error == ""


REGISTRATION_CALLS = {
    HubSpotDeveloperClient: (
        "iter_channels",
        "get_channel",
        "create_channel",
        "update_channel",
        "delete_channel",
    ),
    HubSpotClient: (
        "get_channel_account",
        "iter_channel_accounts",
        "create_channel_account",
        "update_channel_account",
    ),
}


@contextmanager
def probing_registration_calls(connection, seen: list):
    """At each HubSpot call registration makes: can another connection lock the rows it changes?"""
    rows = (
        ChannelRegistration.objects.filter(connection=connection),
        CustomChannel.objects.filter(app_id=connection.app_id),
        ConnectedInbox.objects.filter(connection=connection),
    )

    def wrap(name, real):
        def call(self, *args, **kwargs):
            seen.append((name, all(lockable_elsewhere(qs) for qs in rows)))
            result = real(self, *args, **kwargs)
            # Generators (the listings) are probed at their first page, then read on.
            return list(result) if name.startswith("iter_") else result

        return call

    with ExitStack() as stack:
        for cls, names in REGISTRATION_CALLS.items():
            for name in names:
                stack.enter_context(mock.patch.object(cls, name, wrap(name, getattr(cls, name))))
        yield


def test_registration_calls_hubspot_with_no_row_locked(with_inboxes, hubspot):
    seen = []
    with probing_registration_calls(with_inboxes, seen):
        registration.request_registration(with_inboxes)

    reg = ChannelRegistration.objects.get(connection=with_inboxes)
    assert reg.state == RegistrationState.ACTIVE, reg.detail
    called = {name for name, _ in seen}
    assert {"iter_channels", "create_channel", "iter_channel_accounts", "create_channel_account"} <= called
    assert [name for name, free in seen if not free] == []


def test_unregistration_deletes_the_channel_with_no_row_locked(with_inboxes, hubspot):
    registration.request_registration(with_inboxes)
    seen = []
    with probing_registration_calls(with_inboxes, seen):
        registration.request_unregistration(with_inboxes)

    reg = ChannelRegistration.objects.get(connection=with_inboxes)
    assert reg.state == RegistrationState.UNREGISTERED, reg.detail
    assert {"update_channel_account", "delete_channel"} <= {name for name, _ in seen}
    assert [name for name, free in seen if not free] == []
    assert CustomChannel.objects.get(app_id=with_inboxes.app_id).channel_id == ""


def test_an_inbox_removed_while_its_account_is_created_stays_removed_and_the_account_off(
    with_inboxes, hubspot
):
    """The run no longer holds the inbox's row while HubSpot creates the account, so a removal can
    land in between: the inbox stays removed and the new account is switched off."""
    inbox_id = hubspot["inbox_ids"][0]
    real = HubSpotClient.create_channel_account

    def create(self, channel_id, **kwargs):
        account = real(self, channel_id, **kwargs)
        if kwargs.get("inbox_id") == inbox_id:
            remove_inbox(with_inboxes, inbox_id)  # the admin, while HubSpot answered
        return account

    with mock.patch.object(HubSpotClient, "create_channel_account", create):
        registration.request_registration(with_inboxes)

    inbox = ConnectedInbox.objects.get(connection=with_inboxes, inbox_id=inbox_id)
    assert inbox.state == InboxState.REMOVED and inbox.last_error == ""
    (account,) = accounts_by_inbox(hubspot)[inbox_id]
    assert inbox.channel_account_id == str(account.pk) and account.authorized is False
