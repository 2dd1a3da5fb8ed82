"""What the demo bot received: event envelopes stored once each, and the chat's lines for the page.

Envelopes come by signed callback or by pulling GET …/events/?after=; both go through `store`,
which keys them by the envelope id, so the same event arriving twice is one line on the page.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Max

from sandbox.models.demo_bot import DemoChat, DemoChatEntry

STATUS_BY_EVENT = {
    "escalation.opened": "open",
    "escalation.assigned": "assigned",
    "escalation.closed": "closed",
    "escalation.failed": "failed",
}


def store(chat: DemoChat, envelope: dict, *, source: str) -> bool:
    """Store one envelope; False when it was already there."""
    event_id = str(envelope.get("id") or "")
    if not event_id:
        return False
    try:
        with transaction.atomic():
            DemoChatEntry.objects.create(
                chat=chat,
                kind=DemoChatEntry.Kind.EVENT,
                event_id=event_id,
                sequence=envelope.get("sequence"),
                type=str(envelope.get("type") or ""),
                data=envelope,
                source=source,
            )
    except IntegrityError:
        return False
    status = STATUS_BY_EVENT.get(envelope.get("type"))
    # Statuses follow the highest sequence, so a retried older event cannot undo a newer one.
    if status and envelope.get("sequence") == last_sequence(chat):
        DemoChat.objects.filter(pk=chat.pk).update(status=status)
    return True


def last_sequence(chat: DemoChat) -> int:
    return chat.entries.filter(kind=DemoChatEntry.Kind.EVENT).aggregate(m=Max("sequence"))["m"] or 0


def agent_of(data: dict) -> dict:
    agent = data.get("agent") or {}
    return agent if isinstance(agent, dict) else {"name": str(agent)}


def attachments_of(data: dict) -> list[dict]:
    """Attachments of a message event as {name, url, content_type}, tolerant of naming."""
    found = []
    for item in data.get("attachments") or []:
        if not isinstance(item, dict):
            continue
        found.append(
            {
                "name": item.get("filename") or item.get("name") or item.get("file_name") or "attachment",
                "url": item.get("url") or item.get("download_url") or "",
                "content_type": item.get("content_type") or item.get("contentType") or "",
            }
        )
    return found


def describe(envelope: dict) -> dict:
    """One line of the chat for the page's script."""
    kind = envelope.get("type", "")
    data = envelope.get("data") or {}
    agent = agent_of(data)
    line = {
        "kind": "event",
        "type": kind,
        "sequence": envelope.get("sequence"),
        "at": envelope.get("occurred_at"),
    }
    if kind == "escalation.message":
        return line | {
            "kind": "agent",
            "author": agent.get("name") or "Agent",
            "text": data.get("text") or "",
            "attachments": attachments_of(data),
        }
    if kind == "escalation.opened":
        text = "Your conversation is waiting for an agent."
        if data.get("queue"):
            text += f" {queue_text(data['queue'])}."
    elif kind == "escalation.queue_updated":
        text = queue_text(data.get("queue") or {}) + "."
    elif kind == "escalation.assigned":
        text = f"{agent.get('name') or agent.get('email') or 'An agent'} joined the conversation."
    elif kind == "escalation.closed":
        reason = data.get("reason") or data.get("close_reason") or ""
        text = "The conversation was closed" + (f" ({reason.replace('_', ' ')})." if reason else ".")
    elif kind == "escalation.failed":
        reason = data.get("reason") or data.get("failure_reason") or "failed"
        message = data.get("message") or data.get("failure_message") or ""
        text = f"The escalation failed: {reason}" + (f" — {message}" if message else "")
    else:
        text = kind
    return line | {"text": text}


def lines(chat: DemoChat) -> list[dict]:
    """The chat as shown: the transcript, then what was sent and received, in arrival order."""
    shown = [
        {"kind": "transcript", "role": line.get("role"), "text": line.get("text", "")}
        for line in chat.transcript
    ]
    for entry in chat.entries.all():
        if entry.kind == DemoChatEntry.Kind.USER:
            shown.append({"kind": "user", "text": entry.text, "at": entry.created_at.isoformat()})
        else:
            shown.append(describe(entry.data))
    return shown


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def queue_text(queue: dict) -> str:
    """ "You are 3rd in line, about 4 minutes", from an event's `queue`, as a bot would word it."""
    position = queue.get("position")
    if not isinstance(position, int) or position < 1:
        return "You are in line"
    text = "You are next in line" if position == 1 else f"You are {_ordinal(position)} in line"
    seconds = queue.get("estimated_wait_seconds")
    if isinstance(seconds, int | float):
        minutes = round(seconds / 60)
        text += ", less than a minute" if minutes < 1 else f", about {minutes} minute{'s' * (minutes != 1)}"
    return text


def current_queue(chat: DemoChat) -> str:
    """The waiting user's place, from the newest event that told it; "" once the wait is over."""
    latest = chat.entries.filter(kind=DemoChatEntry.Kind.EVENT).order_by("-sequence").first()
    if latest is None or latest.type not in ("escalation.opened", "escalation.queue_updated"):
        return ""
    queue = (latest.data.get("data") or {}).get("queue")
    return queue_text(queue) if queue else ""
