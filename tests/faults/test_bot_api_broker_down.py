"""The broker (Redis) is down while the bot starts, writes to and closes escalations.

Everything the bot API takes is stored before its task is queued, so a broker that cannot take the
task must not cost the bot anything: each call gets its normal answer (201, 202, 200; never a 500)
and the failure is logged. Once the broker is back the beat sweeps send what is stored
(sweep_pending_publishes; sweep_owed_thread_closes for the thread close the bot asked for;
sweep_due_callbacks for the events owed to the bot), and HubSpot ends up holding each message once,
in the order the bot sent it, in a closed thread.

The broker is a redis-server of this test's own (tests/faults/redis_server.py), killed with SIGKILL.
"""

import logging
import time

import pytest

from conversations.models import Escalation, EscalationMessage, HubSpotEvent, WebhookReceipt
from tests.e2e import flow
from tests.faults.world import INCOMING, TRANSCRIPT, Case, World

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]

OPENED, CLOSED = "escalation.opened", "escalation.closed"


class Calls:
    """The bot's calls during the outage: status codes and how long each took."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.answers: list[tuple[str, int, float]] = []

    def post(self, what: str, path: str, body: dict | None = None):
        started = time.monotonic()
        response = self.world.api.post(f"{self.world.base_url}/api/v1/{path}", json=body, timeout=60)
        self.answers.append((what, response.status_code, time.monotonic() - started))
        return response

    def start(self, conversation_id: str) -> Case:
        response = self.post(
            "start",
            "escalations/",
            {
                "conversation_id": conversation_id,
                "user": {"name": "Ada Lovelace", "phone": "+44 7700 900001"},
                "title": f"{flow.TITLE} ({conversation_id})",
                "transcript": [{"role": role, "text": text} for role, text in TRANSCRIPT],
                "callback_url": self.world.bot.url,
            },
        )
        assert response.status_code == 201, response.text
        case = Case(response.json()["id"], conversation_id, to_hubspot=[t for _, t in TRANSCRIPT])
        self.world.cases.append(case)
        return case

    def say(self, case: Case, text: str) -> None:
        body = {"text": text, "client_message_id": f"{case.conversation_id}-{len(case.to_hubspot)}"}
        response = self.post("message", f"escalations/{case.id}/messages/", body)
        assert response.status_code == 202, response.text
        case.to_hubspot.append(text)

    def close(self, case: Case) -> None:
        response = self.post("close", f"escalations/{case.id}/close/")
        assert response.status_code == 200 and response.json()["status"] == "closed", response.text
        case.closed = True


def _incoming(case: Case) -> list[str]:
    return [m.text for m in flow.messages_of(case.thread()) if m.direction == INCOMING]


def _closed_in_hubspot(world: World) -> bool:
    return all(
        Escalation.objects.filter(pk=c.id, hubspot_closed_at__isnull=False).exists() for c in world.cases
    )


def test_bot_api_answers_normally_while_the_broker_is_down(
    live_server, provisioned, faulty_bot, own_broker, start_celery_worker, figures, caplog
):
    broker = own_broker
    start_celery_worker("faults")
    world = World(live_server.url, provisioned, faulty_bot, "Bot API, Redis down")
    calls = Calls(world)
    before = calls.start("outage-before")  # its thread opens while the broker is up
    world.wait("the first thread in HubSpot", world.published)
    calls.answers.clear()

    broker.crash()
    down_at = time.monotonic()
    caplog.set_level(logging.WARNING, logger="core.jobs")
    during = calls.start("outage-during")  # stored; its publish is lost
    calls.say(before, "Still there?")
    calls.say(during, "Hello from the outage")
    calls.say(before, "Never mind, solved it")
    calls.close(before)  # the HubSpot thread close is owed
    outage = list(calls.answers)

    # Stored, none of it sent: the broker took no task.
    assert EscalationMessage.objects.filter(publish_status="pending").count() == 2 + 1 + 1 + len(
        TRANSCRIPT
    )  # +intro
    assert Escalation.objects.get(pk=before.id).hubspot_close_pending
    assert not Escalation.objects.get(pk=during.id).hubspot_thread_id
    lost = [r.getMessage() for r in caplog.records if r.getMessage().startswith("broker unavailable")]
    for work in (f"publish of escalation {during.id}", f"thread close of escalation {before.id}"):
        assert any(line.startswith(f"broker unavailable: {work} left for the sweep") for line in lost), lost

    broker.start()
    up_at = time.monotonic()
    world.wait("the outage's messages in HubSpot", world.published, timeout=120, beat=True)
    calls.close(during)  # the broker is back: the close goes out at once
    world.wait("both threads closed in HubSpot", lambda: _closed_in_hubspot(world), timeout=120, beat=True)
    world.wait("both events at the bot", lambda: faulty_bot.count() >= 4, timeout=120, beat=True)
    world.wait("every retry and delivery to settle", world.settled, timeout=120, beat=True)

    statuses = [status for _, status, _ in outage]
    assert statuses == [201, 202, 202, 202, 200], outage
    for case in world.cases:
        incoming = _incoming(case)
        assert len(incoming) == 1 + len(case.to_hubspot), (case.conversation_id, incoming)
        assert all(got.endswith(want) for got, want in zip(incoming[1:], case.to_hubspot, strict=True))
        assert case.thread().status == "CLOSED"
        assert not Escalation.objects.get(pk=case.id).hubspot_close_pending
        assert [e["type"] for e in faulty_bot.events(case.id)] == [OPENED, CLOSED]
    held = sum(len(_incoming(c)) for c in world.cases)
    received = sum(WebhookReceipt.objects.values_list("event_count", flat=True))
    figures(
        "Fault tests",
        scenario=world.scenario,
        esc=len(world.cases),
        **{
            "bot events expected": 2 * len(world.cases),
            "delivered (distinct ids)": faulty_bot.count(),
            "to HubSpot expected": sum(1 + len(c.to_hubspot) for c in world.cases),
            "held once": held,
            "dup webhook events suppressed": received - HubSpotEvent.objects.count(),
            "failed callback POSTs": faulty_bot.failed_posts(),
            "redelivered ids": len(set(faulty_bot.redeliveries)),
            "redelivered POSTs": len(faulty_bot.redeliveries),
            "out of order": 0,  # asserted above: a reordering fails the test
            "wall s": round(time.monotonic() - world.started, 1),
            "notes": (
                f"{statuses.count(201)} start, {statuses.count(202)} message, {statuses.count(200)} close"
                f" answered normally while the broker was down ({up_at - down_at:.1f} s);"
                f" slowest {max(t for _, _, t in outage):.2f} s; {world.beat_ticks} sweep ticks"
            ),
        },
    )
