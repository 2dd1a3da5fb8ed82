"""What `escalation.closed` tells the bot so it can take the conversation back sensibly: who closed
it, how long each phase lasted, how many messages went each way, and the agent's last words."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q

from conversations.models import CloseReason, Escalation, MessageDirection

# close_reason → closed_by.kind. An archived thread was archived by someone in HubSpot: the agent side.
CLOSER_KINDS = {
    CloseReason.AGENT_CLOSED: "agent",
    CloseReason.ARCHIVED: "agent",
    CloseReason.BOT_CLOSED: "bot",
    CloseReason.USER_ENDED: "user",
    CloseReason.ADMIN_CLOSED: "admin",
    CloseReason.WATCHDOG: "watchdog",
}


def closed_by(esc: Escalation, user=None) -> dict:
    """`{kind, id, name}`; `user` is the admin who closed it from the console, if one did."""
    kind = CLOSER_KINDS.get(esc.close_reason, "bot")
    if kind == "agent":
        return {"kind": kind, "id": esc.agent_actor_id or None, "name": esc.agent_name or None}
    if kind == "admin":
        if user is None:
            return {"kind": kind, "id": None, "name": None}
        return {"kind": kind, "id": str(user.pk), "name": user.get_full_name() or user.get_username()}
    if kind == "watchdog":
        # The threshold that closed it, e.g. {"kind": "watchdog", "id": "agent_silent", ...}.
        breach = esc.sla_breaches.filter(action="close").order_by("-created_at").first()
        if breach is None:
            return {"kind": kind, "id": None, "name": None}
        return {"kind": kind, "id": breach.kind, "name": breach.get_kind_display()}
    if kind == "user":
        return {"kind": kind, "id": esc.hubspot_contact_id or None, "name": esc.user_name or None}
    key = esc.api_key
    # The key's public prefix (shown in the admin), never the key.
    return {"kind": kind, "id": key.prefix if key else None, "name": key.name if key else None}


def _seconds(start: dt.datetime | None, end: dt.datetime | None) -> int:
    if not start or not end:
        return 0
    return max(0, round((end - start).total_seconds()))


def durations(esc: Escalation, closed_at: dt.datetime) -> dict:
    """Waiting runs from the start to the first assignment (or the close, if nobody took it)."""
    return {
        "waiting_seconds": _seconds(esc.created_at, esc.assigned_at or closed_at),
        "assigned_seconds": _seconds(esc.assigned_at, closed_at),
        "total_seconds": _seconds(esc.created_at, closed_at),
    }


def summary(esc: Escalation, closed_at: dt.datetime, user=None) -> dict:
    """`closed_by`, `durations`, `message_counts` and `last_agent_message` (one query for the counts,
    one for the last reply). The portal's own intro message is not counted as sent to the agent."""
    counts = esc.messages.aggregate(
        to_agent=Count("pk", filter=Q(direction=MessageDirection.TO_AGENT) & ~Q(role="intro")),
        to_user=Count("pk", filter=Q(direction=MessageDirection.TO_BOT)),
    )
    last = (
        esc.messages.filter(direction=MessageDirection.TO_BOT)
        .order_by("-position")
        .values_list("text", flat=True)
        .first()
    )
    return {
        "closed_by": closed_by(esc, user),
        "durations": durations(esc, closed_at),
        "message_counts": {"to_agent": counts["to_agent"], "to_user": counts["to_user"]},
        "last_agent_message": last if last else None,
    }
