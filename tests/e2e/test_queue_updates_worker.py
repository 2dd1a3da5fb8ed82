"""escalation.queue_updated with a real Celery worker against the sandbox: three users wait in one
inbox; the agent takes the first, the second user leaves; the others are told their new place
once each, in sequence with their other events."""

import pytest
import requests

from conversations.models import Escalation
from sandbox.console import actions
from sandbox.models import SandboxActor, SandboxThread
from tests.e2e import flow

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]

USERS = [
    {"name": "Ada Lovelace", "phone": "+44 7700 900001"},
    {"name": "Grace Hopper", "email": "grace@example.com"},
    {"name": "Ines", "phone": "+44 7700 900006"},
]


@pytest.fixture
def queue_settings(e2e_settings):
    # No rate bound here, so each move is its own update (the bound is tested without a worker).
    e2e_settings.HITL_QUEUE_UPDATE_MIN_SECONDS = 0
    return e2e_settings


def test_waiting_users_are_told_each_move_once_in_sequence(
    live_server, queue_settings, provisioned, bot, start_celery_worker
):
    start_celery_worker("queue")
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {provisioned['bot_api_key']}"
    wait = lambda what, check: flow.wait_for(what, check, flush=False)  # noqa: E731 - the worker retries

    def of(escalation_id: str) -> list[tuple[int, str, int | None]]:
        return [
            (e["sequence"], e["type"], ((e["data"] or {}).get("queue") or {}).get("position"))
            for e in bot.received()
            if e["escalation_id"] == escalation_id
        ]

    ids = []
    for n, user in enumerate(USERS):
        response = api.post(
            f"{live_server.url}/api/v1/escalations/",
            json={
                "conversation_id": f"queue-{n}",
                "user": user,
                "title": f"Help {n}",
                "callback_url": bot.url,
            },
            timeout=60,
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
        wait(f"user {n} opened", lambda i=ids[-1]: of(i))
    first, second, third = ids
    assert [of(i) for i in ids] == [
        [(1, "escalation.opened", 1)],
        [(1, "escalation.opened", 2)],
        [(1, "escalation.opened", 3)],
    ]

    thread = SandboxThread.objects.get(pk=int(Escalation.objects.get(pk=first).hubspot_thread_id))
    agent = SandboxActor.objects.get(portal=thread.portal, actor_id=flow.AGENT_ID)
    assert actions.assign(thread, agent)
    wait("the others moved up", lambda: len(of(second)) == 2 and len(of(third)) == 2)

    closed = api.post(
        f"{live_server.url}/api/v1/escalations/{second}/close/", json={"by": "user"}, timeout=60
    )
    assert closed.status_code in (200, 202), closed.text
    wait("the third moved up again", lambda: len(of(third)) == 3 and len(of(second)) == 3)
    wait("every delivery to settle", lambda: flow.settled(False))

    assert of(first) == [(1, "escalation.opened", 1), (2, "escalation.assigned", None)]
    assert of(second) == [
        (1, "escalation.opened", 2),
        (2, "escalation.queue_updated", 1),
        (3, "escalation.closed", None),
    ]
    assert of(third) == [
        (1, "escalation.opened", 3),
        (2, "escalation.queue_updated", 2),
        (3, "escalation.queue_updated", 1),
    ]
    assert len({e["id"] for e in bot.received()}) == len(bot.received()) == 8
    assert bot.rejected() == 0
