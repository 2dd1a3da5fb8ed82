"""`GET /admin/conversations/escalation/export.csv?<filters>`: the filtered list as CSV, streamed.

One row per escalation, with the same filters, search and tenancy as the list (the same
ChangeList builds the queryset). Rows are streamed from a server-side cursor (`iterator()`), so a
large export holds one chunk in memory, not the whole result. `ended_by` says who or what ended
it (end user, bot, agent, the admin by name, the assignment timeout), `closed_by` the admin's
username. Timestamps are ISO 8601 in UTC;
durations are whole seconds from the bot's request (created_at) to the first assignment and to
the end (closed, or failed).

Cells that a spreadsheet would run as a formula (starting with = + - @, or a tab/CR) get a leading
apostrophe: contact names and conversation ids come from bots and end users (CSV injection, OWASP).
"""

from __future__ import annotations

import csv

from django.http import StreamingHttpResponse
from django.utils import timezone

from conversations.admin.escalation_changelist import filtered_queryset
from conversations.admin.escalation_display import (
    agent_label,
    ended_by,
    inbox_label,
    iso,
    seconds_to_assign,
    seconds_to_close,
)

HEADERS = [
    "escalation_id",
    "status",
    "close_reason",
    "failure_reason",
    "created_at",
    "opened_at",
    "assigned_at",
    "closed_at",
    "failed_at",
    "seconds_to_assign",
    "seconds_to_close",
    "agent",
    "agent_email",
    "inbox",
    "inbox_id",
    "connection",
    "portal_id",
    "contact_name",
    "contact_phone",
    "contact_email",
    "conversation_id",
    "hubspot_thread_id",
    "title",
    "ended_by",
    "closed_by",
    "hubspot_contact_name",
    "hubspot_contact_email",
    "hubspot_contact_phone",
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 2000


def safe(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def row_of(esc) -> list[str]:
    values = [
        esc.pk,
        esc.status,
        esc.close_reason,
        esc.failure_reason,
        iso(esc.created_at),
        iso(esc.opened_at),
        iso(esc.assigned_at),
        iso(esc.closed_at),
        iso(esc.failed_at),
        seconds_to_assign(esc),
        seconds_to_close(esc),
        agent_label(esc),
        esc.agent_email,
        inbox_label(esc),
        esc.inbox.inbox_id if esc.inbox_id else "",
        str(esc.connection),
        esc.connection.portal_id or "",
        esc.user_name,
        esc.user_phone,
        esc.user_email,
        esc.conversation_id,
        esc.hubspot_thread_id,
        esc.title,
        ended_by(esc),
        esc.closed_by.get_username() if esc.closed_by_id else "",
        esc.contact_name,
        esc.contact_email,
        esc.contact_phone,
    ]
    # Timestamps and numbers are ours and safe; "-" can only start a bot- or user-supplied text.
    return [safe(v) for v in values]


class _Echo:
    """csv.writer writes into this and gets the line back, so each row is yielded, not buffered."""

    def write(self, value: str) -> str:
        return value


def lines(queryset):
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADERS)
    for esc in queryset.iterator(chunk_size=CHUNK):
        yield writer.writerow(row_of(esc))


def respond(model_admin, request):
    changelist = filtered_queryset(model_admin, request)
    response = StreamingHttpResponse(lines(changelist.queryset), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="escalations-{stamp}.csv"'
    return response
