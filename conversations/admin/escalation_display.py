"""How an escalation reads in the console: status badges, durations, contact, the HubSpot link.

Shared by the changelist columns, the live refresh (which renders the same cells), the detail page
and the CSV export, so a value looks the same everywhere.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from conversations.endings import ENDINGS, closer_name, ended_by, ending_code  # noqa: F401 (shared)
from conversations.models import Escalation, EscalationStatus

# Tones of the badges (static/conversations/escalations.css): waiting amber, in HubSpot blue,
# with an agent green, finished grey, failed red.
STATUS_TONES = {
    EscalationStatus.REQUESTED: "requested",
    EscalationStatus.OPEN: "open",
    EscalationStatus.ASSIGNED: "assigned",
    EscalationStatus.CLOSED: "closed",
    EscalationStatus.FAILED: "failed",
}

MEDIA_JS = ("conversations/escalations.js",)
MEDIA_CSS = {"all": ("conversations/escalations.css",)}


def status_badge(esc: Escalation):
    return format_html(
        '<span class="esc-badge esc-{}" data-escalation="{}" data-version="{}">{}</span>',
        STATUS_TONES.get(esc.status, "closed"),
        esc.pk,
        version_of(esc),
        esc.get_status_display(),
    )


def version_of(esc: Escalation) -> str:
    """What the live refresh compares to know a row changed (its updated_at, as the cursor)."""
    return iso(esc.updated_at)


def iso(value: dt.datetime | None) -> str:
    """ISO 8601 in UTC with a Z, or "" (CSV cells, cursors)."""
    if value is None:
        return ""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def seconds_between(start: dt.datetime | None, end: dt.datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return max(0, int((end - start).total_seconds()))


def seconds_to_assign(esc: Escalation) -> int | None:
    return seconds_between(esc.created_at, esc.assigned_at)


def seconds_to_close(esc: Escalation) -> int | None:
    return seconds_between(esc.created_at, esc.closed_at or esc.failed_at)


def human_duration(seconds: int | None) -> str:
    """45 s, 3 min 20 s, 2 h 5 min, 3 d 4 h; "" when there is nothing to measure."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def contact_line(esc: Escalation) -> str:
    """What the bot sent, then what HubSpot's contact adds (its email when the bot sent a phone)."""
    parts = (esc.user_phone, esc.user_email, esc.contact_phone, esc.contact_email)
    seen: list[str] = []
    for part in parts:
        if part and part.lower() not in (s.lower() for s in seen):
            seen.append(part)
    return " · ".join(seen)


def contact_name(esc: Escalation) -> str:
    """The name the bot sent; HubSpot's in brackets when it differs ("Ada (Ada Lovelace)")."""
    if esc.contact_name and esc.contact_name.casefold() != esc.user_name.casefold():
        return f"{esc.user_name} ({esc.contact_name})" if esc.user_name else esc.contact_name
    return esc.user_name


def agent_label(esc: Escalation) -> str:
    return esc.agent_name or esc.agent_email or esc.agent_actor_id


def inbox_label(esc: Escalation) -> str:
    if esc.inbox_id is None:
        return ""
    return esc.inbox.name or f"Inbox {esc.inbox.inbox_id}"


def thread_url(esc: Escalation) -> str:
    """Where a person opens the conversation: HubSpot's inbox, or the sandbox console's thread page.

    HubSpot's UI link is HUBSPOT_APP_BASE/live-messages/<portalId>/inbox/<threadId> (the address
    HubSpot's inbox shows for an open conversation). With the sandbox on, the sandbox console is
    that UI; its page is reversed by name so it follows wherever the sandbox is mounted.
    """
    if not esc.hubspot_thread_id or not esc.connection.portal_id:
        return ""
    if settings.HUBSPOT_SANDBOX and esc.hubspot_thread_id.isdigit():
        try:
            return reverse(
                "sandbox:app:console:thread",
                kwargs={"portal_id": esc.connection.portal_id, "thread_id": int(esc.hubspot_thread_id)},
            )
        except NoReverseMatch:
            pass  # the sandbox's URLs are not mounted in this process
    base = settings.HUBSPOT_APP_BASE.rstrip("/")
    return f"{base}/live-messages/{esc.connection.portal_id}/inbox/{esc.hubspot_thread_id}"


def thread_link(esc: Escalation):
    url = thread_url(esc)
    if not url:
        return esc.hubspot_thread_id or ""
    return format_html(
        '<a href="{}" target="_blank" rel="noopener" title="Open the thread in HubSpot">{}</a>',
        url,
        esc.hubspot_thread_id,
    )
