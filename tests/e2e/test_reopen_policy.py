"""The connection's reopen policy, with a real Celery worker against the sandbox: after the agent
closed, a new start for the same conversation_id gets a new HubSpot thread (the default) or the
closed thread set back to OPEN. Either way the bot receives each escalation's events once, in
sequence, and the agent is briefed in the thread each time."""

import pytest
import requests

from connections.models import Connection
from conversations.models import Escalation
from sandbox.console import actions
from sandbox.models import SandboxActor, SandboxMessage, SandboxThread
from tests.e2e import flow

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]


def start(api: requests.Session, base: str, bot) -> dict:
    response = api.post(
        f"{base}/api/v1/escalations/",
        json={
            "conversation_id": "chat-reopen",
            "user": flow.USER,
            "title": flow.TITLE,
            "transcript": [{"role": "user", "text": "A person, please."}],
            "callback_url": bot.url,
        },
        timeout=60,
    )
    assert response.status_code == 201, response.text
    return response.json()


def events_of(bot, escalation_id: str) -> list[tuple[int, str]]:
    return [(e["sequence"], e["type"]) for e in bot.received() if e["escalation_id"] == escalation_id]


def run(live_server, provisioned, bot, policy: str):
    Connection.objects.update(reopen_policy=policy)
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {provisioned['bot_api_key']}"
    wait = lambda what, check: flow.wait_for(what, check, flush=False)  # noqa: E731 - the worker retries

    first = start(api, live_server.url, bot)
    wait("the first escalation opened", lambda: events_of(bot, first["id"]) == [(1, "escalation.opened")])
    old = Escalation.objects.get(pk=first["id"])
    thread = SandboxThread.objects.get(pk=int(old.hubspot_thread_id))
    agent = SandboxActor.objects.get(portal=thread.portal, actor_id=flow.AGENT_ID)
    assert actions.set_status(thread, "CLOSED", agent)
    wait("escalation.closed", lambda: len(events_of(bot, first["id"])) == 2)

    second = start(api, live_server.url, bot)
    assert second["id"] != first["id"]
    wait("the second escalation opened", lambda: events_of(bot, second["id"]) == [(1, "escalation.opened")])
    wait("both briefings", lambda: SandboxMessage.objects.filter(type="COMMENT").count() == 2)
    wait("every delivery to settle", lambda: flow.settled(False))

    assert events_of(bot, first["id"]) == [(1, "escalation.opened"), (2, "escalation.closed")]
    assert events_of(bot, second["id"]) == [(1, "escalation.opened")]
    assert len({e["id"] for e in bot.received()}) == len(bot.received()) == 3
    assert bot.rejected() == 0
    new = Escalation.objects.get(pk=second["id"])
    assert new.status == "open" and Escalation.objects.get(pk=first["id"]).status == "closed"
    return old, new


def test_default_policy_starts_a_new_thread(live_server, provisioned, bot, e2e_worker):
    old, new = run(live_server, provisioned, bot, "new_thread")

    assert new.hubspot_thread_id != old.hubspot_thread_id
    assert new.reopened_from_id is None and new.integration_thread_id != old.integration_thread_id
    statuses = dict(SandboxThread.objects.values_list("pk", "status"))
    assert statuses == {int(old.hubspot_thread_id): "CLOSED", int(new.hubspot_thread_id): "OPEN"}
    [briefing] = SandboxMessage.objects.filter(thread_id=int(new.hubspot_thread_id), type="COMMENT")
    assert str(new.pk) in briefing.text


def test_same_thread_policy_reopens_the_closed_thread(live_server, provisioned, bot, e2e_worker):
    old, new = run(live_server, provisioned, bot, "same_thread")

    assert new.hubspot_thread_id == old.hubspot_thread_id and new.reopened_from_id == old.pk
    assert (new.reopens_thread_id, new.reopen_error) == (old.hubspot_thread_id, "")
    [thread] = SandboxThread.objects.all()
    assert thread.status == "OPEN"
    # The agent sees the first hand-over's messages, then the new one's, in one thread.
    assert thread.messages.filter(type="MESSAGE").count() == 4
    briefings = thread.messages.filter(type="COMMENT").order_by("created_at", "id")
    assert [str(old.pk) in b.text for b in briefings] == [True, False]
    assert str(new.pk) in briefings[1].text
