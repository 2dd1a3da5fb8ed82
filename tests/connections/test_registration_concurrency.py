"""Concurrent registration runs on PostgreSQL: the row locks, not HubSpot's listing, prevent duplicates.

The sandbox hides a new channel from list calls for a while (`channel_list_delay_seconds`), as
HubSpot does, so "list, then create if missing" would create one channel per worker here. Threads
start together behind a barrier, each on its own database connection.
"""

import threading

import pytest
from django.db import connection as db_connection

from connections import registration
from connections.hubspot import HubSpotDeveloperClient
from connections.hubspot.tokens import get_access_token
from connections.models import ChannelRegistration, ConnectedInbox, InboxState, RegistrationState
from tests.connections.helpers import accounts_by_inbox, live_channels

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 5


def together(fn, n=THREADS) -> list:
    barrier = threading.Barrier(n)
    results, errors = [], []

    def work():
        try:
            barrier.wait(timeout=10)
            results.append(fn())
        except Exception as exc:
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=work) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung (lock never released?)"
    assert not errors, errors
    return results


@pytest.fixture
def slow_listing(behaviour):
    behaviour.channel_list_delay_seconds = 600
    behaviour.save()
    return behaviour


def one_account_per_inbox(seed) -> dict:
    return {inbox: len(accounts) for inbox, accounts in accounts_by_inbox(seed).items()}


def test_concurrent_find_or_create_makes_one_channel(app, hubspot, slow_listing):
    found = together(lambda: registration.ensure_channel(app, HubSpotDeveloperClient.for_app(app)))

    assert live_channels(hubspot).count() == 1
    assert len({f.channel_id for f in found}) == 1
    assert sum(f.created for f in found) == 1
    assert not any(f.listed for f in found)  # HubSpot does not list it yet


def test_concurrent_account_connection_makes_one_account_per_inbox(with_inboxes, app, hubspot, slow_listing):
    channel_id = registration.ensure_channel(app, HubSpotDeveloperClient.for_app(app)).channel_id
    get_access_token(with_inboxes.pk)  # as a run does first; a refresh in a thread would serialize them

    results = together(lambda: registration.connect_inboxes(with_inboxes, channel_id))

    assert results == [([], 2)] * THREADS
    assert one_account_per_inbox(hubspot) == {inbox_id: 1 for inbox_id in hubspot["inbox_ids"]}
    assert set(ConnectedInbox.objects.values_list("state", flat=True)) == {InboxState.ACTIVE}


def test_concurrent_runs_of_the_task_leave_one_channel_and_one_account_per_inbox(
    with_inboxes, hubspot, slow_listing
):
    registration.request_registration(with_inboxes, enqueue=False)

    first = together(lambda: registration.run_registration(with_inboxes.pk))
    assert {o.state for o in first} == {RegistrationState.WAITING_FOR_LISTING}
    assert live_channels(hubspot).count() == 1
    assert not accounts_by_inbox(hubspot)

    # The rescheduled runs, past the listing bound, all carry on to the inboxes at once.
    past_bound = len(registration.LISTING_COUNTDOWNS)
    together(lambda: registration.run_registration(with_inboxes.pk, listing_checks=past_bound))

    assert ChannelRegistration.objects.get(connection=with_inboxes).state == RegistrationState.ACTIVE
    assert live_channels(hubspot).count() == 1
    assert one_account_per_inbox(hubspot) == {inbox_id: 1 for inbox_id in hubspot["inbox_ids"]}


def test_concurrent_saves_leave_one_channel_and_one_account_per_inbox(with_inboxes, hubspot, slow_listing):
    # Each save requests a registration; eager tasks run in the saving thread on commit.
    together(lambda: registration.request_registration(with_inboxes))
    together(lambda: registration.request_registration(with_inboxes))

    assert live_channels(hubspot).count() == 1
    assert one_account_per_inbox(hubspot) == {inbox_id: 1 for inbox_id in hubspot["inbox_ids"]}
