"""The escalation round trip, driven the way its actors drive it: the bot over the HTTP API, the
agent through the sandbox console's actions (what a person's clicks in HubSpot do), HubSpot's
webhooks and our callbacks over real HTTP. Returns what the bot received and what HubSpot holds,
normalised so two runs can be compared."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from sandbox.console import actions
from sandbox.models import SandboxActor, SandboxBehaviour, SandboxMessage, SandboxThread
from tests.sandbox_ui.world import make_png

USER = {"name": "Ada Lovelace", "phone": "+44 7700 900001"}  # a seeded sandbox contact
TITLE = "Order #1042 never arrived"
DESCRIPTION = "Asks for a refund or a replacement."
TRANSCRIPT = [
    ("user", "Hi, my order #1042 never arrived."),
    ("bot", "Sorry! The carrier lost track of it."),
    ("user", "I want to talk to a person."),
]
AGENT_ID, AGENT_NAME = "A-1001", "Alice Agent"
AGENT_REPLY = "Hi Ada, I'm sending a replacement today. Here is the label."
ATTACHMENT_NAME = "label.png"
USER_REPLY = "Thank you, that's perfect!"
PNG = make_png(40, 20)


@dataclass
class Realism:
    """How badly the network behaves during a run."""

    name: str = "clean"
    duplicate_deliveries: bool = False  # the sandbox sends every webhook twice
    reorder_deliveries: bool = False  # ... and each batch in reverse order
    publish_failures: list[int] = field(default_factory=list)  # statuses of failed publishes
    callback_failures: int = 0  # the bot answers the first N callbacks with 500
    rate_limit_per_10s: int = 0  # HubSpot's per-app rate limit, made tight (0: off)


@dataclass
class Outcome:
    events: list[dict]  # envelopes the bot accepted, in arrival order
    messages: list[SandboxMessage]  # the thread's MESSAGEs, in HubSpot's order
    threads: int
    attachment_bytes: bytes | None


def flush_retries() -> None:
    """Send retries that are waiting for their time, as the periodic sweeps would (tasks may be
    eager here, and eager runs leave retries to the sweeps instead of sleeping in a request)."""
    call_command("sandbox_deliver_webhooks", "--now", stdout=io.StringIO())
    from conversations.models import EscalationMessage
    from conversations.tasks import publish_escalation

    pending = (
        EscalationMessage.objects.filter(direction="to_agent", publish_status="pending")
        .values_list("escalation_id", flat=True)
        .distinct()
    )
    for escalation_id in pending:
        publish_escalation.delay(str(escalation_id))
    call_command("deliver_callbacks", stdout=io.StringIO())


def wait_for(what: str, check: Callable[[], object], *, timeout: float = 45, flush: bool = True):
    """Poll `check` until it returns something truthy; flush due retries between polls."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        if flush:
            flush_retries()
        time.sleep(0.25)


def messages_of(thread: SandboxThread) -> list[SandboxMessage]:
    return list(thread.messages.filter(type="MESSAGE").order_by("created_at", "id"))


def fail_publishes(statuses: list[int]) -> None:
    """Inject failures into the next publishes to the custom channel (same status each batch)."""
    if not statuses:
        return
    SandboxBehaviour.objects.filter(pk=1).update(
        fail_next_requests=len(statuses), fail_status=statuses[0], fail_path_contains="/messages"
    )


def run(base_url: str, provisioned: dict, bot, realism: Realism, *, sweep: bool = True) -> Outcome:
    """The round trip. `sweep`: do what the periodic sweeps would (needed when tasks run eagerly);
    with a real worker it is off, so every retry is the worker's own countdown."""

    def wait(what, check):
        return wait_for(what, check, flush=sweep)

    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {provisioned['bot_api_key']}"
    behaviour = SandboxBehaviour.current()
    behaviour.duplicate_deliveries = realism.duplicate_deliveries
    behaviour.reorder_deliveries = realism.reorder_deliveries
    behaviour.rate_limit_per_10s = realism.rate_limit_per_10s
    behaviour.save()
    bot.failures.extend([500] * realism.callback_failures)
    five_xx = [s for s in realism.publish_failures if s >= 500]
    too_many = [s for s in realism.publish_failures if s == 429]

    # 1. The bot escalates with the conversation so far (HubSpot answers 5xx to the first tries).
    fail_publishes(five_xx)
    response = api.post(
        f"{base_url}/api/v1/escalations/",
        json={
            "conversation_id": f"e2e-{realism.name}",
            "user": USER,
            "title": TITLE,
            "description": DESCRIPTION,
            "transcript": [{"role": role, "text": text} for role, text in TRANSCRIPT],
            "callback_url": bot.url,
        },
        timeout=60,
    )
    assert response.status_code == 201, response.text
    escalation = response.json()
    assert escalation["status"] in ("requested", "open"), escalation

    thread = wait(
        "the intro and transcript in HubSpot",
        lambda: (t := SandboxThread.objects.first()) and len(messages_of(t)) >= 1 + len(TRANSCRIPT) and t,
    )
    wait("escalation.opened", lambda: len(bot.received()) >= 1)

    # 2. An agent takes it, 3. replies with text and a file.
    agent = SandboxActor.objects.get(portal=thread.portal, actor_id=AGENT_ID)
    assert actions.assign(thread, agent)
    wait("escalation.assigned", lambda: len(bot.received()) >= 2)
    actions.reply(
        thread,
        agent,
        text=AGENT_REPLY,
        upload=SimpleUploadedFile(ATTACHMENT_NAME, PNG, content_type="image/png"),
        token=f"e2e-{realism.name}",
    )
    wait("escalation.message", lambda: len(bot.received()) >= 3)

    # 4. The user answers through the bot (HubSpot rate-limits the first try).
    fail_publishes(too_many)
    response = api.post(
        f"{base_url}/api/v1/escalations/{escalation['id']}/messages/",
        json={"text": USER_REPLY, "client_message_id": "user-reply-1"},
        timeout=60,
    )
    assert response.status_code in (200, 201, 202), response.text
    wait(
        "the user's reply in HubSpot",
        lambda: any(m.text.endswith(USER_REPLY) for m in messages_of(thread)),
    )

    # 5. The agent closes the conversation.
    assert actions.set_status(thread, "CLOSED", agent)
    wait("escalation.closed", lambda: len(bot.received()) >= 4)
    wait("every retry and delivery to settle", lambda: settled(sweep))

    events = bot.received()
    attachment = None
    message_events = [e for e in events if e["type"] == "escalation.message"]
    if message_events and message_events[0]["data"].get("attachments"):
        url = message_events[0]["data"]["attachments"][0].get("url")
        fetched = requests.get(url, timeout=10) if url else None
        attachment = fetched.content if fetched is not None and fetched.ok else None
    final = api.get(f"{base_url}/api/v1/escalations/{escalation['id']}/", timeout=10)
    assert final.status_code == 200 and final.json()["status"] == "closed", final.text
    return Outcome(
        events=events,
        messages=messages_of(thread),
        threads=SandboxThread.objects.count(),
        attachment_bytes=attachment,
    )


def settled(sweep: bool) -> bool:
    """Nothing is left to send: no sandbox webhook or bot callback pending, no publish waiting."""
    from conversations.models import Escalation, EscalationEvent, EscalationMessage
    from sandbox.models import SandboxWebhookDelivery

    if sweep:
        flush_retries()
    return (
        not SandboxWebhookDelivery.objects.exclude(status__in=("delivered", "failed")).exists()
        and not EscalationEvent.objects.filter(delivery_status="pending").exists()
        and not EscalationMessage.objects.filter(direction="to_agent", publish_status="pending").exists()
        and not Escalation.objects.filter(briefing_status="pending").exists()
    )


def summary(outcome: Outcome) -> dict:
    """What must be identical between a clean and a rough run (no ids, no times)."""

    def event(e: dict) -> tuple:
        data = e.get("data") or {}
        if e["type"] == "escalation.assigned":
            return (e["sequence"], e["type"], (data.get("agent") or {}).get("name"))
        if e["type"] == "escalation.message":
            names = [a.get("filename") or a.get("name") for a in data.get("attachments") or []]
            return (e["sequence"], e["type"], data.get("text"), tuple(names))
        if e["type"] == "escalation.closed":
            return (e["sequence"], e["type"], data.get("reason"))
        return (e["sequence"], e["type"])

    return {
        "events": [event(e) for e in outcome.events],
        "messages": [(m.direction, m.text, len(m.attachments)) for m in outcome.messages],
        "threads": outcome.threads,
    }
