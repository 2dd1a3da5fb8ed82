"""No HubSpot call while a row lock is held: while the call runs, another connection can lock the
rows the service changes without waiting (SELECT … FOR UPDATE NOWAIT)."""

import threading
from unittest import mock

import pytest
from django.db import connection as db_connection
from django.db import transaction

from connections import registration, services
from connections.hubspot import HubSpotClient, OAuthClient
from connections.inboxes import remove_inbox
from connections.models import ConnectedInbox, Connection

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
