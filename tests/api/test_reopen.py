"""The reopen policy without a worker (the worker runs are tests/e2e/test_reopen_policy.py): the
fallback to a new thread when HubSpot will not reopen the old one, and events of a shared thread
routed to the escalation they belong to."""

import datetime as dt

import pytest

from connections.models import Connection
from conversations import timeline
from conversations.models import Escalation
from conversations.processing.routing import escalation_by_thread
from sandbox import domain
from sandbox.models import SandboxThread
from tests.api.conftest import start_body

pytestmark = pytest.mark.django_db(transaction=True)


def start_close_start(bot) -> tuple[Escalation, Escalation]:
    first = bot.post("escalations/", start_body())
    assert first.status_code == 201, first.text
    closed = bot.post(f"escalations/{first.json()['id']}/close/", {})
    assert closed.status_code in (200, 202), closed.text
    old = Escalation.objects.get(pk=first.json()["id"])
    assert old.status == "closed" and old.hubspot_closed_at  # the thread close ran (eagerly)
    return old, None


def test_same_thread_reopens_the_closed_thread(bot, provisioned):
    Connection.objects.update(reopen_policy="same_thread")
    old, _ = start_close_start(bot)
    assert SandboxThread.objects.get(pk=int(old.hubspot_thread_id)).status == "CLOSED"

    again = bot.post("escalations/", start_body())

    assert again.status_code == 201, again.text
    new = Escalation.objects.get(pk=again.json()["id"])
    assert (new.status, new.hubspot_thread_id, new.reopened_from_id) == (
        "open",
        old.hubspot_thread_id,
        old.pk,
    )
    assert SandboxThread.objects.get().status == "OPEN"
    titles = [e.title for e in timeline.build(new, [])]
    assert f"Reopened HubSpot thread {old.hubspot_thread_id}" in titles


def test_an_archived_thread_is_not_reopened_a_new_thread_is_used_and_why_is_kept(bot, provisioned):
    Connection.objects.update(reopen_policy="same_thread")
    old, _ = start_close_start(bot)
    domain.set_thread_archived(SandboxThread.objects.get(pk=int(old.hubspot_thread_id)), True)

    again = bot.post("escalations/", start_body())

    assert again.status_code == 201, again.text
    new = Escalation.objects.get(pk=again.json()["id"])
    assert new.status == "open" and new.hubspot_thread_id != old.hubspot_thread_id
    assert new.integration_thread_id != old.integration_thread_id and new.reopens_thread_id == ""
    assert new.reopen_error.startswith(f"HubSpot did not reopen thread {old.hubspot_thread_id}")
    # HubSpot looks an archived thread up only when asked for archived ones: a 404 here.
    assert "not found" in new.reopen_error
    [entry] = [e for e in timeline.build(new, []) if e.title.startswith("The closed thread was not reopened")]
    assert entry.detail == new.reopen_error


def test_the_default_policy_leaves_the_closed_thread_closed(bot, provisioned):
    old, _ = start_close_start(bot)

    again = bot.post("escalations/", start_body())

    new = Escalation.objects.get(pk=again.json()["id"])
    assert new.hubspot_thread_id != old.hubspot_thread_id and new.reopened_from_id is None
    assert SandboxThread.objects.get(pk=int(old.hubspot_thread_id)).status == "CLOSED"


def test_an_event_of_a_shared_thread_goes_to_the_escalation_started_before_it(bot, provisioned):
    Connection.objects.update(reopen_policy="same_thread")
    old, _ = start_close_start(bot)
    again = bot.post("escalations/", start_body())
    new = Escalation.objects.get(pk=again.json()["id"])
    connection = Connection.objects.get()

    # A late (or replayed) event of the first conversation, e.g. its CLOSED, belongs to it.
    assert escalation_by_thread(connection, old.hubspot_thread_id, old.closed_at) == old
    assert (
        escalation_by_thread(connection, old.hubspot_thread_id, new.created_at + dt.timedelta(seconds=1))
        == new
    )
    assert escalation_by_thread(connection, old.hubspot_thread_id) == new
