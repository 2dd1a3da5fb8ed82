"""Briefing the agent: an internal comment in the HubSpot thread once it opens.

The agent sees at a glance why the bot handed over (title, description), what the bot knows
(its `metadata` as a short table), the user's language and a link to the escalation in the portal.
The comment is a COMMENT (contract §6.3): inbox users see it, the visitor never does.

It never holds the escalation up: `mark_open` only records it as owed (briefing_status pending);
a task posts it after commit, retrying HubSpot's temporary failures with backoff, and the sweep
re-queues one whose task was lost. A comment has no idempotency id, so an attempt after one whose
outcome is unknown first looks for the comment in the thread (by the escalation's link, which is
unique) instead of posting a second one. Every failure is kept on the row for the timeline.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from django.conf import settings
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from connections.hubspot import RETRYABLE_ERRORS, HubSpotClient, HubSpotError
from conversations.models import BriefingStatus, Escalation

log = logging.getLogger(__name__)

#: Rows of the metadata table; the rest is counted, not shown (a comment is read at a glance).
MAX_METADATA_ROWS = 15
#: A cell longer than this is cut with an ellipsis.
MAX_CELL_CHARS = 200
#: Whole comment bounds, far below HubSpot's (the client's COMMENT_TEXT_LIMIT).
MAX_DESCRIPTION_CHARS = 2000


class Retry(Exception):
    """HubSpot could not take the comment now; the task retries it after `countdown`."""


def escalation_url(esc: Escalation) -> str:
    path = reverse("admin:conversations_escalation_change", args=[esc.pk])
    return f"{settings.PUBLIC_BASE_URL}{path}"


def _cell(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = " ".join(text.split())
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


def metadata_rows(metadata) -> tuple[list[tuple[str, str]], int]:
    """(key, value) rows by key (PostgreSQL's jsonb keeps no key order), and how many were left out."""
    if not isinstance(metadata, dict):
        return [], 0
    items = sorted(metadata.items(), key=lambda item: str(item[0]))
    rows = [(_cell(str(k)), _cell(v)) for k, v in items[:MAX_METADATA_ROWS]]
    return rows, max(0, len(items) - MAX_METADATA_ROWS)


def compose(esc: Escalation) -> tuple[str, str]:
    """(text, richText) of the briefing. The text stands alone (notifications, search, clients that
    do not render HTML); the richText is what the inbox shows."""
    url = escalation_url(esc)
    description = esc.description.strip()
    if len(description) > MAX_DESCRIPTION_CHARS:
        description = description[: MAX_DESCRIPTION_CHARS - 1] + "…"
    rows, hidden = metadata_rows(esc.metadata)

    lines = ["Briefing from the bot (internal, not sent to the customer)", f"Reason: {esc.title}"]
    if description:
        lines.append(description)
    if esc.locale:
        lines.append(f"Language: {esc.locale}")
    if rows:
        lines.append("Details from the bot:")
        lines += [f"- {key}: {value}" for key, value in rows]
        if hidden:
            lines.append(f"- … and {hidden} more in the portal")
    lines.append(f"Escalation in the portal: {url}")
    text = "\n".join(lines)

    html = [
        "<p><strong>Briefing from the bot</strong> (internal, not sent to the customer)</p>",
        f"<p><strong>Reason:</strong> {escape(esc.title)}</p>",
    ]
    if description:
        html.append("<p>" + escape(description).replace("\n", "<br>") + "</p>")
    if esc.locale:
        html.append(f"<p><strong>Language:</strong> {escape(esc.locale)}</p>")
    if rows:
        cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
        if hidden:
            cells += f'<tr><td colspan="2">… and {hidden} more in the portal</td></tr>'
        html.append(f"<table><tbody>{cells}</tbody></table>")
    html.append(f'<p><a href="{escape(url)}">Open the escalation in the portal</a></p>')
    return text, "".join(html)


def owe(esc: Escalation) -> None:
    """Record the briefing as owed (inside the transaction that opened the thread). Due now, by our
    clock: the sweep leaves it to the task queued on commit for HITL_SWEEP_GRACE_SECONDS."""
    if esc.briefing_status == BriefingStatus.NOT_DUE:
        esc.briefing_status = BriefingStatus.PENDING
        esc.briefing_due_at = timezone.now()


def _already_posted(client: HubSpotClient, esc: Escalation) -> dict | None:
    """The briefing, if an earlier attempt whose answer was lost did post it."""
    url = escalation_url(esc)
    for message in client.iter_thread_messages(esc.hubspot_thread_id):
        if message.get("type") == "COMMENT" and url in (message.get("text") or ""):
            return message
    return None


def post(escalation_id, *, retry_in: float) -> bool:
    """Post the briefing if it is owed. True if it is posted now.

    Claims the attempt first (attempts counter, compare-and-set) so two runs cannot both post.
    Raises Retry for a temporary HubSpot failure (after recording it and the next due time);
    a refusal is final and recorded.
    """
    esc = Escalation.objects.select_related("connection").filter(pk=escalation_id).first()
    if esc is None or esc.briefing_status != BriefingStatus.PENDING or not esc.hubspot_thread_id:
        return False
    now = timezone.now()
    claimed = Escalation.objects.filter(
        pk=esc.pk, briefing_status=BriefingStatus.PENDING, briefing_attempts=esc.briefing_attempts
    ).update(
        briefing_attempts=F("briefing_attempts") + 1, briefing_due_at=now + dt.timedelta(seconds=retry_in)
    )
    if not claimed:
        return False
    try:
        client = HubSpotClient.for_connection(esc.connection)
        found = _already_posted(client, esc) if esc.briefing_attempts else None
        if found is None:
            text, rich_text = compose(esc)
            found = client.post_comment(esc.hubspot_thread_id, text, rich_text=rich_text)
    except RETRYABLE_ERRORS as exc:
        Escalation.objects.filter(pk=esc.pk).update(briefing_error=f"HubSpot unavailable, retrying: {exc}")
        raise Retry(str(exc)) from exc
    except HubSpotError as exc:
        log.warning("escalation %s: HubSpot refused the briefing comment: %s", esc.pk, exc)
        Escalation.objects.filter(pk=esc.pk).update(
            briefing_status=BriefingStatus.FAILED,
            briefing_error=f"HubSpot refused the briefing comment: {exc}",
            briefing_due_at=None,
        )
        return False
    Escalation.objects.filter(pk=esc.pk).update(
        briefing_status=BriefingStatus.POSTED,
        briefing_message_id=str(found.get("id", ""))[:64],
        briefing_posted_at=timezone.now(),
        briefing_due_at=None,
    )
    return True


def owed_ids(*, now: dt.datetime | None = None) -> list[str]:
    """Owed briefings whose due time passed more than the sweep grace ago (their task was lost)."""
    cutoff = (now or timezone.now()) - dt.timedelta(seconds=settings.HITL_SWEEP_GRACE_SECONDS)
    rows = Escalation.objects.filter(briefing_status=BriefingStatus.PENDING, briefing_due_at__lt=cutoff)
    return [str(pk) for pk in rows.order_by("briefing_due_at").values_list("pk", flat=True)[:500]]
