"""Driving many escalations through faults, and counting what arrived where.

The actors are the ones of tests/e2e/flow.py: the bot over the HTTP API, agents through the
sandbox console's actions (each one transaction, so its webhooks are one batch, as in HubSpot),
HubSpot's webhooks and our callbacks over real HTTP to a real worker. `check()` states what
"every accepted message delivered exactly once and in order" means, per escalation, on both sides:

* bot side: the events the bot applied (first POST of each X-HITL-Event-Id answered 2xx, see
  tests/faults/bot.py) have sequences 1..N with no gap or repeat, the expected types, and the
  agent's replies in the order the agent wrote them;
* HubSpot side: the escalation's one thread holds each message we published (intro, transcript,
  the user's messages) exactly once, in the order the bot sent them, and the agent's replies.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests
from django.db import transaction
from django.db.models import Count

from conversations.models import Escalation, EscalationEvent, EscalationMessage, HubSpotEvent, WebhookReceipt
from sandbox.console import actions
from sandbox.models import SandboxActor, SandboxMessage, SandboxThread, SandboxWebhookDelivery
from tests.e2e import flow

CONTACTS = [  # seeded sandbox contacts (sandbox/seed.py)
    {"name": "Ada Lovelace", "phone": "+44 7700 900001"},
    {"name": "Alan Turing", "phone": "+44 7700 900003"},
]
TRANSCRIPT = flow.TRANSCRIPT
INCOMING, OUTGOING = SandboxMessage.Direction.INCOMING, SandboxMessage.Direction.OUTGOING


@dataclass
class Case:
    """One escalation of a scenario and what both sides must end up holding."""

    id: str
    conversation_id: str
    to_hubspot: list[str] = field(default_factory=list)  # texts we publish, in order (intro aside)
    agent_replies: list[str] = field(default_factory=list)
    closed: bool = False

    def thread(self) -> SandboxThread:
        esc = Escalation.objects.get(pk=self.id)
        return SandboxThread.objects.get(pk=esc.hubspot_thread_id)

    def expected_types(self) -> list[str]:
        types = ["escalation.opened"]
        if self.agent_replies or self.closed:
            types.append("escalation.assigned")
        types += ["escalation.message"] * len(self.agent_replies)
        return types + (["escalation.closed"] if self.closed else [])


class World:
    def __init__(
        self,
        base_url: str,
        provisioned: dict,
        bot,
        scenario: str,
        *,
        beat_every: float = 1.0,
        clients: int = 1,
    ) -> None:
        """beat_every: seconds between two runs of the sweeps while waiting (beat=True); clients:
        how many bot requests are sent at once by `escalate` and `users_say`."""
        self.base_url = base_url
        self.beat_every = beat_every
        self.clients = clients
        self.last_beat = 0.0
        self.bot = bot
        self.scenario = scenario
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"Bearer {provisioned['bot_api_key']}"
        self.cases: list[Case] = []
        self.started = time.monotonic()
        self.beat_ticks = 0

    # The bot's side ---------------------------------------------------------------------------

    def _each(self, fn, items) -> list:
        """fn over items, `clients` at a time, results in the items' order."""
        if self.clients <= 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(self.clients) as pool:
            return list(pool.map(fn, items))

    def escalate(self, count: int) -> list[Case]:
        first = len(self.cases)
        self.cases += self._each(self._escalate, range(first, first + count))
        return self.cases[-count:]

    def _escalate(self, i: int) -> Case:
        conversation_id = f"{self.scenario}-{i}"
        response = self.api.post(
            f"{self.base_url}/api/v1/escalations/",
            json={
                "conversation_id": conversation_id,
                "user": CONTACTS[i % len(CONTACTS)],
                "title": f"{flow.TITLE} ({i})",
                "transcript": [{"role": role, "text": text} for role, text in TRANSCRIPT],
                "callback_url": self.bot.url,
            },
            timeout=60,
        )
        assert response.status_code == 201, response.text
        return Case(response.json()["id"], conversation_id, to_hubspot=[t for _, t in TRANSCRIPT])

    def user_says(self, case: Case, text: str) -> None:
        response = self.api.post(
            f"{self.base_url}/api/v1/escalations/{case.id}/messages/",
            json={"text": text, "client_message_id": f"{case.conversation_id}-{len(case.to_hubspot)}"},
            timeout=60,
        )
        assert response.status_code in (200, 201, 202), response.text
        case.to_hubspot.append(text)

    def users_say(self, cases: list[Case], text) -> None:
        """Each case's user writes `text(case)`, `clients` cases at once (one message per case)."""
        self._each(lambda case: self.user_says(case, text(case)), cases)

    # The agents' side (HubSpot) ----------------------------------------------------------------

    def agent(self) -> SandboxActor:
        return SandboxActor.objects.get(portal=self.cases[0].thread().portal, actor_id=flow.AGENT_ID)

    def assign_all(self) -> None:
        """Every thread assigned in one transaction: one batch of webhooks (reversed when asked)."""
        agent = self.agent()
        with transaction.atomic():
            for case in self.cases:
                assert actions.assign(case.thread(), agent)

    def reply_round(self, round_no: int, cases: list[Case] | None = None) -> None:
        """One reply in each thread, together in one transaction (one batch)."""
        agent = self.agent()
        with transaction.atomic():
            for case in cases or self.cases:
                text = f"agent reply {round_no} in {case.conversation_id}"
                actions.reply(case.thread(), agent, text=text, token=f"{case.conversation_id}-{round_no}")
                case.agent_replies.append(text)

    def close_all(self) -> None:
        agent = self.agent()
        with transaction.atomic():
            for case in self.cases:
                assert actions.set_status(case.thread(), "CLOSED", agent)
                case.closed = True

    # Waiting ----------------------------------------------------------------------------------

    def beat(self) -> None:
        """What beat enqueues every minute, run now: the sweeps that recover lost tasks. They run
        here (in this process, publishing to the broker) with this process's settings; a broker
        that is down makes them fail like beat would, and the next tick tries again."""
        from conversations.tasks import sweep_due_callbacks, sweep_owed_thread_closes, sweep_pending_publishes
        from conversations.tasks.webhooks import sweep_pending_webhook_events
        from sandbox.tasks import deliver_due_webhooks

        self.beat_ticks += 1
        sweeps = (sweep_due_callbacks, sweep_pending_publishes, sweep_owed_thread_closes)
        for sweep in (*sweeps, sweep_pending_webhook_events):
            with contextlib.suppress(Exception):
                sweep()
        with contextlib.suppress(Exception):
            deliver_due_webhooks()

    def wait(self, what: str, check, *, timeout: float = 60, beat: bool = False):
        deadline = time.monotonic() + timeout
        while not (value := check()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.scenario}: timed out after {timeout} s waiting for {what}")
            if beat and time.monotonic() - self.last_beat >= self.beat_every:
                self.last_beat = time.monotonic()
                self.beat()
            time.sleep(0.3)  # the sweeps still run every beat_every seconds only
        return value

    def published(self) -> bool:
        """Every case's intro and messages are in its HubSpot thread (two queries, whatever the size)."""
        ids = [c.id for c in self.cases]
        threads = dict(Escalation.objects.filter(pk__in=ids).values_list("pk", "hubspot_thread_id"))
        held = dict(
            SandboxMessage.objects.filter(type="MESSAGE", direction=INCOMING)
            .values("thread_id")
            .annotate(n=Count("pk"))
            .values_list("thread_id", "n")
        )
        for case in self.cases:
            thread_id = threads.get(uuid.UUID(str(case.id)))
            if not thread_id or held.get(int(thread_id), 0) < 1 + len(case.to_hubspot):
                return False
        return True

    def bot_has_all(self) -> bool:
        return all(len(self.bot.events(c.id)) >= len(c.expected_types()) for c in self.cases)

    def settled(self) -> bool:
        return (
            not SandboxWebhookDelivery.objects.exclude(status__in=("delivered", "failed")).exists()
            and not EscalationEvent.objects.filter(delivery_status="pending").exists()
            and not EscalationMessage.objects.filter(direction="to_agent", publish_status="pending").exists()
            and not HubSpotEvent.objects.filter(status="pending").exists()
        )

    def finish(self, *, beat: bool = False, timeout: float = 90, done=None) -> None:
        """Wait for the bot, then HubSpot, then every retry; `done(step)` after each step (where a
        slow run spends its settling time)."""
        steps = (
            ("every event at the bot", self.bot_has_all),
            ("HubSpot to hold every message", self.published),
            ("every retry and delivery to settle", self.settled),
        )
        for what, check in steps:
            self.wait(what, check, timeout=timeout, beat=beat)
            if done is not None:
                done(what)

    # Counting ---------------------------------------------------------------------------------

    def check(self) -> dict:
        """Assert exactly once and in order on both sides; return the scenario's figures."""
        out_of_order = 0
        for case in self.cases:
            events = self.bot.events(case.id)
            sequences = [e["sequence"] for e in events]
            # Counted before asserting, so a failing run's figure says how bad it was.
            out_of_order += sum(1 for a, b in itertools.pairwise([0, *sequences]) if b != a + 1)
            assert sequences == list(range(1, len(events) + 1)), (case.conversation_id, sequences)
            assert [e["type"] for e in events] == case.expected_types(), (case.conversation_id, events)
            texts = [e["data"]["text"] for e in events if e["type"] == "escalation.message"]
            assert texts == case.agent_replies, (case.conversation_id, texts)
            stored = EscalationEvent.objects.filter(escalation_id=case.id)
            assert stored.count() == len(events)
            assert set(stored.values_list("delivery_status", flat=True)) == {"delivered"}

            messages = flow.messages_of(case.thread())
            incoming = [m.text for m in messages if m.direction == INCOMING]
            outgoing = [m.text for m in messages if m.direction == OUTGOING]
            assert len(incoming) == 1 + len(case.to_hubspot), (case.conversation_id, incoming)
            assert case.id and all(
                got.endswith(want) for got, want in zip(incoming[1:], case.to_hubspot, strict=True)
            ), (case.conversation_id, incoming)
            assert outgoing == case.agent_replies
        assert SandboxThread.objects.count() == len(self.cases), "one HubSpot thread per escalation"
        unfinished = HubSpotEvent.objects.exclude(status__in=("processed", "ignored"))
        assert not unfinished.exists(), list(unfinished.values("event_type", "status", "result"))
        assert self.bot.bad_signatures == 0

        received_events = sum(WebhookReceipt.objects.values_list("event_count", flat=True))
        expected_bot = sum(len(c.expected_types()) for c in self.cases)
        assert self.bot.count() == expected_bot
        return {
            "scenario": self.scenario,
            "esc": len(self.cases),
            "bot events expected": expected_bot,
            "delivered (distinct ids)": self.bot.count(),
            "to HubSpot expected": sum(1 + len(c.to_hubspot) for c in self.cases),
            "held once": SandboxMessage.objects.filter(type="MESSAGE", direction=INCOMING).count(),
            "dup webhook events suppressed": received_events - HubSpotEvent.objects.count(),
            "failed callback POSTs": self.bot.failed_posts(),
            "redelivered ids": len(set(self.bot.redeliveries)),
            "redelivered POSTs": len(self.bot.redeliveries),
            "out of order": out_of_order,
            "wall s": round(time.monotonic() - self.started, 1),
            "notes": "",
        }


class LockedEscalation:
    """Holds the escalation's row lock from another thread (its own database connection), so a
    worker processing an event about it blocks on `select_for_update` until `release()`."""

    def __init__(self, escalation_id: str) -> None:
        self.escalation_id = escalation_id
        self.locked = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        from django.db import connection

        try:
            with transaction.atomic():
                Escalation.objects.select_for_update().get(pk=self.escalation_id)
                self.locked.set()
                self._release.wait(timeout=120)
        finally:
            connection.close()

    def __enter__(self) -> LockedEscalation:
        self._thread.start()
        assert self.locked.wait(10)
        return self

    def release(self) -> None:
        self._release.set()
        self._thread.join(10)

    def __exit__(self, *exc) -> None:
        self.release()


def lock_waiters() -> int:
    """Backends of this database waiting for a row lock right now."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


class HubSpotSender:
    """HubSpot sending its webhooks: the sandbox's outbox, sent from a thread of this process.

    Real HubSpot does not depend on our broker; the sandbox normally sends through a Celery task,
    which would stop with the broker. While this runs, that task's `delay` is switched off (the
    test monkeypatches it) and this thread sends each due delivery and its retries instead,
    recording every answer as (status or None, seconds, when).
    """

    def __init__(self, threads: int = 1) -> None:
        # Several threads send at once, as HubSpot does; a delivery is claimed before it is sent
        # (sandbox/webhooks.py), so two threads never send the same one.
        self.answers: list[tuple[int | None, float, float]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        from django.db import connection

        from sandbox import webhooks

        try:
            while not self._stop.is_set():
                due = webhooks.due_delivery_ids()
                random.shuffle(due)  # threads start on different deliveries
                for delivery_id in due:
                    started = time.monotonic()
                    if not webhooks.send_delivery(delivery_id).sent:
                        continue  # another thread claimed it first
                    status = SandboxWebhookDelivery.objects.get(pk=delivery_id).last_status_code
                    self.answers.append((status, time.monotonic() - started, time.monotonic()))
                self._stop.wait(0.1)
        finally:
            connection.close()

    def __enter__(self) -> HubSpotSender:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)
