"""Read-side helpers of the console: what a page shows, computed once per request."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

from sandbox.models import (
    SandboxActor,
    SandboxFile,
    SandboxInbox,
    SandboxMessage,
    SandboxPortal,
    SandboxThread,
)
from sandbox.serializers import file_token

STATUS_FILTERS = ("OPEN", "CLOSED", "ALL")
SESSION_AGENT_KEY = "sandbox_console_agent_{portal}"


def ago(moment) -> str:
    """'just now' / '3 minutes ago': Django's timesince says '0 minutes' for the first minute."""
    if moment is None:
        return ""
    if (timezone.now() - moment).total_seconds() < 60:
        return "just now"
    return f"{timesince(moment)} ago"


def until(moment) -> str:
    if moment is None:
        return ""
    seconds = (moment - timezone.now()).total_seconds()
    if seconds < 60:
        return f"in {max(int(seconds), 0)} s"
    return f"in {timeuntil(moment)}"


def get_portal(portal_id: int) -> SandboxPortal:
    portal = SandboxPortal.objects.filter(portal_id=portal_id).first()
    if portal is None:
        raise Http404("No such sandbox portal")
    return portal


def get_thread(portal: SandboxPortal, thread_id: int) -> SandboxThread:
    thread = (
        SandboxThread.objects.select_related("inbox", "channel", "channel_account", "contact")
        .filter(portal=portal, pk=thread_id)
        .first()
    )
    if thread is None:
        raise Http404("No such thread in this portal")
    return thread


def agents(portal: SandboxPortal) -> QuerySet[SandboxActor]:
    return SandboxActor.objects.filter(portal=portal, type=SandboxActor.Type.AGENT).order_by(
        "name", "actor_id"
    )


def acting_agent(session, portal: SandboxPortal) -> SandboxActor | None:
    """The agent the person acts as in this portal: chosen in the header, else the first agent."""
    portal_agents = agents(portal)
    chosen = session.get(SESSION_AGENT_KEY.format(portal=portal.portal_id))
    if chosen:
        agent = portal_agents.filter(actor_id=chosen).first()
        if agent:
            return agent
    return portal_agents.first()


def set_acting_agent(session, portal: SandboxPortal, agent: SandboxActor) -> None:
    session[SESSION_AGENT_KEY.format(portal=portal.portal_id)] = agent.actor_id


def actor_names(portal: SandboxPortal) -> dict[str, str]:
    return {a.actor_id: a.name or a.email or a.actor_id for a in SandboxActor.objects.filter(portal=portal)}


def portal_cards(portals) -> list[dict]:
    counts = {
        row["portal"]: row
        for row in SandboxThread.objects.filter(archived=False)
        .values("portal")
        .annotate(open=Count("id", filter=Q(status="OPEN")), total=Count("id"))
    }
    inboxes = {
        row["portal"]: row["n"] for row in SandboxInbox.objects.values("portal").annotate(n=Count("id"))
    }
    agent_counts = {
        row["portal"]: row["n"]
        for row in SandboxActor.objects.filter(type=SandboxActor.Type.AGENT)
        .values("portal")
        .annotate(n=Count("id"))
    }
    return [
        {
            "portal": p,
            "open": counts.get(p.pk, {}).get("open", 0),
            "total": counts.get(p.pk, {}).get("total", 0),
            "inboxes": inboxes.get(p.pk, 0),
            "agents": agent_counts.get(p.pk, 0),
        }
        for p in portals
    ]


def visitor_label(thread: SandboxThread) -> tuple[str, str]:
    """(name, identifier) of the person on the other side of a thread."""
    contact = thread.contact
    name = thread.visitor_name or (f"{contact.firstname} {contact.lastname}".strip() if contact else "")
    identifier = (thread.visitor_delivery_identifier or {}).get("value", "")
    if not identifier and contact:
        identifier = contact.email or contact.phone
    return name or identifier or thread.visitor_actor_id or "Unknown visitor", identifier


@dataclass
class ThreadRow:
    thread: SandboxThread
    visitor: str
    identifier: str
    assignee: str
    latest_text: str
    latest_direction: str
    latest_at: object
    message_count: int

    @property
    def latest_ago(self) -> str:
        return ago(self.latest_at)


def thread_rows(portal: SandboxPortal, *, inbox: SandboxInbox | None, status: str) -> list[ThreadRow]:
    latest = SandboxMessage.objects.filter(thread=OuterRef("pk"), type="MESSAGE").order_by(
        "-created_at", "-id"
    )
    threads = (
        SandboxThread.objects.filter(portal=portal)
        .select_related("contact", "inbox", "channel")
        .annotate(
            latest_text=Subquery(latest.values("text")[:1]),
            latest_direction=Subquery(latest.values("direction")[:1]),
            latest_created=Subquery(latest.values("created_at")[:1]),
            message_count=Count("messages", filter=Q(messages__type="MESSAGE")),
        )
        .order_by("-latest_message_at", "-id")
    )
    if inbox is not None:
        threads = threads.filter(inbox=inbox)
    if status in ("OPEN", "CLOSED"):
        threads = threads.filter(status=status, archived=False)
    names = actor_names(portal)
    rows = []
    for thread in threads[:200]:
        visitor, identifier = visitor_label(thread)
        rows.append(
            ThreadRow(
                thread=thread,
                visitor=visitor,
                identifier=identifier,
                assignee=names.get(thread.assigned_to, thread.assigned_to),
                latest_text=thread.latest_text or "",
                latest_direction=thread.latest_direction or "",
                latest_at=thread.latest_created or thread.latest_message_at or thread.created_at,
                message_count=thread.message_count,
            )
        )
    return rows


def status_counts(portal: SandboxPortal, inbox: SandboxInbox | None) -> dict[str, int]:
    threads = SandboxThread.objects.filter(portal=portal)
    if inbox is not None:
        threads = threads.filter(inbox=inbox)
    counts = threads.aggregate(
        OPEN=Count("id", filter=Q(status="OPEN", archived=False)),
        CLOSED=Count("id", filter=Q(status="CLOSED", archived=False)),
        ALL=Count("id"),
    )
    return counts


def file_path(file: SandboxFile) -> str:
    from django.urls import reverse

    return reverse("sandbox:app:console:file", args=[file.pk, file_token(file)])


def message_items(thread: SandboxThread) -> list[dict]:
    """The thread's messages as the page shows them: who, when, which way, what was attached."""
    messages = list(thread.messages.all())
    file_ids = {
        int(a["fileId"])
        for m in messages
        for a in m.attachments
        if a.get("type") == "FILE" and str(a.get("fileId", "")).isdigit()
    }
    files = {f.pk: f for f in SandboxFile.objects.filter(pk__in=file_ids).defer("content")}
    names = actor_names(thread.portal)
    items = []
    for message in messages:
        sender = (message.senders or [{}])[0] if message.senders else {}
        sender_name = (
            sender.get("name")
            or names.get(sender.get("actorId", ""), "")
            or names.get(message.created_by, "")
            or (sender.get("deliveryIdentifier") or {}).get("value", "")
            or message.created_by
        )
        attachments = []
        for attachment in message.attachments:
            if attachment.get("type") != "FILE":
                attachments.append({"label": attachment.get("type", "attachment").title(), "url": ""})
                continue
            file_id = str(attachment.get("fileId", ""))
            file = files.get(int(file_id)) if file_id.isdigit() else None
            if file is not None:
                attachments.append(
                    {
                        "label": file.name,
                        "url": file_path(file),
                        "is_image": file.content_type.startswith("image/"),
                        "size": file.size,
                    }
                )
            else:
                attachments.append(
                    {
                        "label": attachment.get("name") or f"file {file_id}",
                        "url": attachment.get("url", ""),
                        "is_image": attachment.get("fileUsageType") == "IMAGE",
                    }
                )
        items.append(
            {
                "message": message,
                "is_event": message.type not in ("MESSAGE", "COMMENT"),
                # Internal notes: the inbox's users see them, the visitor never does.
                "is_comment": message.type == "COMMENT",
                "incoming": message.direction == SandboxMessage.Direction.INCOMING,
                "sender": sender_name,
                "sender_actor": sender.get("actorId") or message.created_by,
                "attachments": attachments,
                "event_text": _event_text(message, names),
            }
        )
    return items


def _event_text(message: SandboxMessage, names: dict[str, str]) -> str:
    extra = message.extra or {}
    if message.type == "THREAD_STATUS_CHANGE":
        return f"Conversation {'closed' if extra.get('newStatus') == 'CLOSED' else 'reopened'}"
    if message.type == "ASSIGNMENT":
        who = extra.get("assignedTo") or ""
        return f"Assigned to {names.get(who, who)}" if who else "Unassigned"
    if message.type == "COMMENT":
        return f"Comment: {message.text}"
    return message.type.replace("_", " ").capitalize()
