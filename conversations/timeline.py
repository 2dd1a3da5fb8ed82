"""Everything that happened to one escalation, in time order, for the admin's detail page.

Sources, one query each (constant whatever the escalation's length): the bot's API calls
(BotApiRequest), our publishes to HubSpot (the messages' publish state), the HubSpot webhooks
matched to the escalation (HubSpotEvent, with the raw event payload), the events owed to the bot
and every callback attempt (status code, duration, error), and the escalation's own transitions.
Errors are entries with tone "bad", wherever they come from.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from django.db.models import F
from django.urls import NoReverseMatch, reverse

from conversations.admin.display import url_without_query
from conversations.endings import ended_by
from conversations.models import (
    BotApiRequest,
    BriefingStatus,
    CallbackAttempt,
    DeliveryStatus,
    Escalation,
    EscalationEvent,
    EscalationMessage,
    HubSpotEvent,
    MessageDirection,
    PublishStatus,
    SlaBreach,
)

DELIVERY_SHORT = {
    DeliveryStatus.PENDING: "pending",
    DeliveryStatus.DELIVERED: "delivered",
    DeliveryStatus.FAILED: "gave up",
    DeliveryStatus.NO_CALLBACK: "pull only",
}


@dataclass
class Entry:
    at: dt.datetime
    source: str  # bot API, HubSpot publish, webhook, callback, escalation
    title: str
    detail: str = ""
    tone: str = "idle"  # ok, bad, busy, idle
    status: str = ""  # an HTTP status or a state, shown as a small badge
    duration_ms: int | None = None
    payload: str = ""  # pretty JSON, shown folded
    order: int = 0  # ties at the same instant keep their natural order
    extra: list[str] = field(default_factory=list)
    link: str = ""  # where the raw record is, when its admin page exists


def _pretty(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def _http_tone(code: int | None) -> str:
    if code is None:
        return "bad"
    if code < 300:
        return "ok"
    return "bad" if code >= 500 or code in (401, 403) else "busy"


def _request(request_id: str | None) -> list[str]:
    """The request id as a timeline detail: search the logs for it."""
    return [f"request {request_id}"] if request_id else []


def _api_entries(esc: Escalation) -> list[Entry]:
    rows = BotApiRequest.objects.filter(escalation=esc).order_by("created_at", "id")
    entries = []
    for row in rows:
        refused = f" — refused: {row.error_code}" if row.error_code else ""
        entries.append(
            Entry(
                at=row.created_at,
                source="bot API",
                title=f"Bot {row.action}: {row.method} {row.path}{refused}",
                tone=_http_tone(row.status_code),
                status=str(row.status_code),
                duration_ms=row.duration_ms,
                order=1,
                extra=_request(row.request_id),
            )
        )
    return entries


def _publish_entries(esc: Escalation, messages: list[EscalationMessage]) -> list[Entry]:
    entries = []
    for m in messages:
        if m.direction != MessageDirection.TO_AGENT:
            continue
        label = f"message #{m.position} ({m.role})"
        if m.publish_status == PublishStatus.PUBLISHED and m.published_at:
            entries.append(
                Entry(
                    at=m.published_at,
                    source="HubSpot publish",
                    title=f"Published {label} to HubSpot",
                    detail=f"HubSpot message {m.hubspot_message_id}" if m.hubspot_message_id else "",
                    tone="ok",
                    status="published",
                    order=2,
                )
            )
        elif m.publish_status == PublishStatus.FAILED:
            entries.append(
                Entry(
                    at=esc.failed_at or m.created_at,
                    source="HubSpot publish",
                    title=f"Publishing {label} failed",
                    detail=m.publish_error,
                    tone="bad",
                    status="failed",
                    order=2,
                )
            )
        elif m.publish_status == PublishStatus.PENDING:
            entries.append(
                Entry(
                    at=m.created_at,
                    source="HubSpot publish",
                    title=f"{label.capitalize()} waiting to be published",
                    tone="busy",
                    status="pending",
                    order=2,
                )
            )
    return entries


def _receipt_url(receipt_id: int) -> str:
    # The webhook log's admin page for the whole HTTP request (headers, body), when it is installed.
    try:
        return reverse("admin:conversations_webhookreceipt_change", args=[receipt_id])
    except NoReverseMatch:
        return ""


def _webhook_entries(esc: Escalation) -> list[Entry]:
    rows = (
        HubSpotEvent.objects.filter(escalation=esc)
        .annotate(request_id=F("receipt__request_id"))
        .order_by("created_at", "id")
    )
    entries = []
    for row in rows:
        failed = row.status == HubSpotEvent.Status.FAILED
        entries.append(
            Entry(
                at=row.created_at,
                source="webhook",
                title=f"Webhook received: {row.event_type}",
                detail=row.result,
                tone="bad" if failed else ("idle" if row.status == HubSpotEvent.Status.IGNORED else "ok"),
                status=row.status,
                payload=_pretty(row.payload),
                order=3,
                extra=([f"HubSpot time {row.occurred_at:%Y-%m-%d %H:%M:%S}"] if row.occurred_at else [])
                + _request(row.request_id),
                link=_receipt_url(row.receipt_id),
            )
        )
    return entries


def _callback_entries(esc: Escalation) -> list[Entry]:
    events = list(EscalationEvent.objects.filter(escalation=esc).order_by("sequence"))
    attempts = CallbackAttempt.objects.filter(event__escalation=esc).order_by("created_at", "id")
    by_event: dict = {}
    for attempt in attempts:
        by_event.setdefault(attempt.event_id, []).append(attempt)
    entries = []
    for event in events:
        delivery = event.get_delivery_status_display()
        short = DELIVERY_SHORT.get(event.delivery_status, event.delivery_status)
        entries.append(
            Entry(
                at=event.created_at,
                source="callback",
                title=f"Event {event.type} #{event.sequence} for the bot",
                detail=f"Delivery: {delivery}",
                tone={DeliveryStatus.DELIVERED: "ok", DeliveryStatus.FAILED: "bad"}.get(
                    event.delivery_status,
                    "idle" if event.delivery_status == DeliveryStatus.NO_CALLBACK else "busy",
                ),
                status=short,
                payload=_pretty(event.data),
                order=4,
                extra=_request(event.request_id),
            )
        )
        for number, attempt in enumerate(by_event.get(event.pk, []), start=1):
            code = attempt.status_code
            entries.append(
                Entry(
                    at=attempt.created_at,
                    source="callback",
                    title=f"Callback #{event.sequence} ({event.type}), attempt {number}: "
                    + (f"HTTP {code}" if code else "no answer"),
                    detail=attempt.error or attempt.response_excerpt[:300],
                    tone=_http_tone(code),
                    status=str(code or "error"),
                    duration_ms=attempt.duration_ms,
                    order=5,
                    # As the callback log: a query string may carry the bot's own token.
                    extra=[url_without_query(attempt.url)],
                )
            )
    return entries


def _state_entries(esc: Escalation) -> list[Entry]:
    entries = [
        Entry(at=esc.created_at, source="escalation", title="Escalation requested by the bot", order=0)
    ]
    if esc.opened_at:
        detail = f"HubSpot thread {esc.hubspot_thread_id}" if esc.hubspot_thread_id else ""
        entries.append(
            Entry(at=esc.opened_at, source="escalation", title="Thread open in HubSpot", detail=detail)
        )
    if esc.assigned_at:
        who = esc.agent_name or esc.agent_actor_id
        entries.append(
            Entry(at=esc.assigned_at, source="escalation", title=f"Assigned to {who}", tone="ok", order=6)
        )
    if esc.closed_at:
        entries.append(
            Entry(
                at=esc.closed_at,
                source="escalation",
                title="Closed",
                detail=ended_by(esc),
                order=6,
            )
        )
    entries += _thread_close_entries(esc)
    if esc.failed_at:
        entries.append(
            Entry(
                at=esc.failed_at,
                source="escalation",
                title=f"Failed: {esc.get_failure_reason_display() or esc.failure_reason}",
                detail=esc.failure_message,
                tone="bad",
                order=6,
            )
        )
    return entries


def _thread_close_entries(esc: Escalation) -> list[Entry]:
    """Closing the HubSpot thread after the bot closed (the task's outcome, on the row itself)."""
    if esc.hubspot_closed_at:
        return [
            Entry(
                at=esc.hubspot_closed_at, source="HubSpot publish", title="HubSpot thread closed", tone="ok"
            )
        ]
    if not esc.closed_at:
        return []
    if esc.hubspot_close_pending and esc.hubspot_thread_id:
        detail = "Retried by the close task and the sweep until HubSpot confirms."
        return [
            Entry(
                at=esc.closed_at,
                source="HubSpot publish",
                title="Closing the HubSpot thread",
                detail=detail,
                tone="busy",
                order=7,
            )
        ]
    if esc.hubspot_close_error:
        return [
            Entry(
                at=esc.closed_at,
                source="HubSpot publish",
                title="The HubSpot thread was not closed",
                detail=esc.hubspot_close_error,
                tone="bad",
                order=7,
            )
        ]
    return []


def _sla_entries(esc: Escalation) -> list[Entry]:
    """Each SLA breach once, with what its threshold's action did."""
    entries = []
    for breach in SlaBreach.objects.filter(escalation=esc).order_by("created_at", "pk"):
        action = breach.get_action_display()
        outcome = {"done": "", "pending": " (owed: retried by the SLA sweep)", "failed": " (failed)"}
        entries.append(
            Entry(
                at=breach.created_at,
                source="escalation",
                title=f"SLA breached: {breach.get_kind_display()}",
                detail=f"{round(breach.elapsed_seconds / 60)} min, threshold "
                f"{round(breach.threshold_seconds / 60)} min. Action: {action}"
                f"{outcome.get(breach.action_status, '')}. {breach.action_error}".strip(),
                tone="bad" if breach.action_status == "failed" else "busy",
                status=breach.kind,
                order=3,
            )
        )
    return entries


def _briefing_entries(esc: Escalation) -> list[Entry]:
    """The agent's briefing comment (conversations/briefing.py): posted, still owed, or refused."""
    at = esc.briefing_posted_at or esc.opened_at or esc.created_at
    attempts = [f"{esc.briefing_attempts} attempt(s)"] if esc.briefing_attempts > 1 else []
    if esc.briefing_status == BriefingStatus.POSTED:
        return [
            Entry(
                at=at,
                source="HubSpot publish",
                title="Agent briefed (internal comment in the thread)",
                detail=f"HubSpot message {esc.briefing_message_id}",
                tone="ok",
                order=8,
                extra=attempts,
            )
        ]
    if esc.briefing_status == BriefingStatus.PENDING:
        detail = esc.briefing_error or "Queued; retried with backoff until HubSpot takes it."
        return [
            Entry(
                at=at,
                source="HubSpot publish",
                title="Briefing the agent",
                detail=detail,
                tone="bad" if esc.briefing_error else "busy",
                order=8,
                extra=attempts,
            )
        ]
    if esc.briefing_status == BriefingStatus.FAILED:
        return [
            Entry(
                at=at,
                source="HubSpot publish",
                title="The agent's briefing was not posted",
                detail=esc.briefing_error,
                tone="bad",
                order=8,
                extra=attempts,
            )
        ]
    return []


def _reopen_entries(esc: Escalation) -> list[Entry]:
    """Reopen policy "same_thread": this escalation continues a closed one's HubSpot thread."""
    if esc.reopen_error:
        return [
            Entry(
                at=esc.created_at,
                source="HubSpot publish",
                title="The closed thread was not reopened: a new thread instead",
                detail=esc.reopen_error,
                tone="busy",
                order=2,
            )
        ]
    if esc.reopened_from_id and esc.hubspot_thread_id:
        return [
            Entry(
                at=esc.opened_at or esc.created_at,
                source="HubSpot publish",
                title=f"Reopened HubSpot thread {esc.hubspot_thread_id}",
                detail=f"Continues escalation {esc.reopened_from_id} (reopen policy: same thread).",
                tone="ok",
                order=2,
            )
        ]
    return []


def build(esc: Escalation, messages: list[EscalationMessage]) -> list[Entry]:
    """The timeline, oldest first. `messages` are the escalation's, already loaded for the transcript."""
    entries = (
        _state_entries(esc)
        + _api_entries(esc)
        + _publish_entries(esc, messages)
        + _webhook_entries(esc)
        + _callback_entries(esc)
        + _sla_entries(esc)
        + _briefing_entries(esc)
        + _reopen_entries(esc)
    )
    return sorted(entries, key=lambda e: (e.at, e.order))
