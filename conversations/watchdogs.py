"""SLA watchdogs: thresholds per connection (optionally per inbox) that a periodic sweep checks.

Kinds (connections.models.SlaKind) and the stretch each one times:

* `unassigned`: waiting for an agent, from the start or from the moment the last agent handed it
  back (the same clock as the assignment timeout, which keeps failing with `no_agent` on its own);
* `no_agent_reply`: assigned, and no agent reply yet, from the (first) assignment;
* `agent_silent`: the agent has replied before, and the user's message since is unanswered, from
  the first unanswered user message;
* `user_silent`: the agent's last message is unanswered by the user, from that message;
* `user_left`: the bot closed with `by=user` before any agent took it (checked at the close, in
  `record_user_left`, not by the sweep).

The agent-side clocks (`unassigned`, `no_agent_reply`, `agent_silent`) count only the inbox's
opening hours (connections/business_hours.py): a desk is not late overnight. `user_silent` counts
the wall clock.

A breach is recorded once per stretch (`SlaBreach` is unique on escalation, kind and the stretch's
start), under the escalation's row lock, together with its `escalation.sla_breached` event
(dedupe key `sla:<kind>:<start>`), so the bot gets it exactly once and in sequence with the
escalation's other events; a `close` action closes in the same transaction (the close event
follows the breach's). Emails and HubSpot comments are owed on the breach row and done after the
commit, never under a lock: comments one by one (claimed with a conditional UPDATE first), emails
batched per organisation and run.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from connections.business_hours import Schedule, schedule_for
from connections.models import ConnectedInbox, SlaAction, SlaKind, SlaThreshold
from conversations.models import (
    ActionStatus,
    CloseReason,
    Escalation,
    EscalationMessage,
    EscalationStatus,
    EventType,
    MessageDirection,
    SlaBreach,
)
from core import jobs
from tenants.models import Membership, Role

logger = logging.getLogger(__name__)

WAITING = (EscalationStatus.REQUESTED, EscalationStatus.OPEN)
SWEPT_KINDS = (SlaKind.UNASSIGNED, SlaKind.NO_AGENT_REPLY, SlaKind.AGENT_SILENT, SlaKind.USER_SILENT)
BUSINESS_TIME_KINDS = (SlaKind.UNASSIGNED, SlaKind.NO_AGENT_REPLY, SlaKind.AGENT_SILENT)
MAX_COMMENT_ATTEMPTS = 5
MAX_EMAIL_ATTEMPTS = 5


@dataclass(frozen=True)
class Due:
    kind: str
    since: dt.datetime
    threshold: SlaThreshold
    elapsed_seconds: int


# -- which stretch each kind times --------------------------------------------------------------


def stretch_start(
    kind: str, esc: Escalation, messages: list[tuple[str, str, dt.datetime]]
) -> dt.datetime | None:
    """When the stretch `kind` times began for `esc` (None: not running). `messages` are the
    escalation's (direction, role, created_at) in position order."""
    if kind == SlaKind.UNASSIGNED:
        if esc.status not in WAITING or esc.agent_actor_id:
            return None
        return max(esc.created_at, esc.assignment_changed_at or esc.created_at)
    if esc.status != EscalationStatus.ASSIGNED or not esc.assigned_at:
        return None
    replies = [at for direction, _role, at in messages if direction == MessageDirection.TO_BOT]
    if kind == SlaKind.NO_AGENT_REPLY:
        return None if replies else esc.assigned_at
    if not replies:
        return None
    last_reply = max(replies)
    user_since = [
        at for direction, role, at in messages if direction == MessageDirection.TO_AGENT and role == "user"
    ]
    unanswered = [at for at in user_since if at > last_reply]
    if kind == SlaKind.AGENT_SILENT:
        return min(unanswered) if unanswered else None
    if kind == SlaKind.USER_SILENT:
        if unanswered:
            return None
        after_user = [at for at in replies if not user_since or at > max(user_since)]
        return min(after_user) if after_user else None
    return None


def elapsed(kind: str, since: dt.datetime, now: dt.datetime, schedule: Schedule) -> int:
    if kind in BUSINESS_TIME_KINDS:
        return round(schedule.open_seconds(since, now))
    return max(0, round((now - since).total_seconds()))


def effective_thresholds(connection_id: int, inbox_id: int | None, rows: list[SlaThreshold]) -> dict:
    """kind -> threshold for an escalation: the inbox's own, else the connection-wide one."""
    chosen: dict[str, SlaThreshold] = {}
    for row in rows:
        if row.connection_id != connection_id or row.inbox_id not in (None, inbox_id):
            continue
        if row.kind not in chosen or row.inbox_id is not None:
            chosen[row.kind] = row
    return chosen


def due(esc: Escalation, messages, thresholds: dict, schedule: Schedule, now: dt.datetime) -> list[Due]:
    found = []
    for kind in SWEPT_KINDS:
        threshold = thresholds.get(kind)
        if threshold is None:
            continue
        since = stretch_start(kind, esc, messages)
        if since is None:
            continue
        seconds = elapsed(kind, since, now, schedule)
        if seconds >= threshold.seconds:
            found.append(Due(kind, since, threshold, seconds))
    return found


# -- the sweep ----------------------------------------------------------------------------------


class _Schedules(dict):
    def __missing__(self, inbox_id):
        inbox = ConnectedInbox.objects.filter(pk=inbox_id).first() if inbox_id else None
        self[inbox_id] = schedule = schedule_for(inbox)
        return schedule


def _messages(escalation_ids) -> dict:
    by_escalation: dict = defaultdict(list)
    rows = (
        EscalationMessage.objects.filter(escalation_id__in=escalation_ids)
        .order_by("escalation_id", "position")
        .values_list("escalation_id", "direction", "role", "created_at")
    )
    for escalation_id, direction, role, at in rows.iterator():
        by_escalation[escalation_id].append((direction, role, at))
    return by_escalation


def sweep(*, now: dt.datetime | None = None) -> dict:
    """Record every due breach, then do the owed emails and comments. Idempotent."""
    now = now or timezone.now()
    rows = list(SlaThreshold.objects.exclude(kind=SlaKind.USER_LEFT).select_related("inbox"))
    recorded = 0
    if rows:
        connection_ids = {row.connection_id for row in rows}
        active = list(
            Escalation.objects.filter(
                connection_id__in=connection_ids,
                status__in=(*WAITING, EscalationStatus.ASSIGNED),
            )
        )
        messages = _messages([esc.pk for esc in active])
        schedules = _Schedules()
        for esc in active:
            thresholds = effective_thresholds(esc.connection_id, esc.inbox_id, rows)
            for found in due(esc, messages.get(esc.pk, []), thresholds, schedules[esc.inbox_id], now):
                recorded += _record(esc.pk, found.kind, found.since, now, schedules[esc.inbox_id])
    return {"breaches": recorded, "comments": post_owed_comments(), "emails": send_owed_emails(now=now)}


def _record(pk, kind: str, since: dt.datetime, now: dt.datetime, schedule: Schedule) -> int:
    """Re-check under the row lock (an agent may have answered since the sweep read), then write
    the breach, its event and a close; 1 if recorded."""
    with transaction.atomic():
        esc = Escalation.objects.select_for_update().filter(pk=pk).first()
        if esc is None:
            return 0
        rows = list(SlaThreshold.objects.filter(connection_id=esc.connection_id, kind=kind))
        threshold = effective_thresholds(esc.connection_id, esc.inbox_id, rows).get(kind)
        messages = _messages([pk]).get(pk, [])
        current = due(esc, messages, {kind: threshold} if threshold else {}, schedule, now)
        if not current or current[0].since != since:
            return 0
        return int(
            record_breach(
                esc, current[0].threshold, since=since, elapsed_seconds=current[0].elapsed_seconds, at=now
            )
        )


def record_breach(
    esc: Escalation, threshold: SlaThreshold, *, since: dt.datetime, elapsed_seconds: int, at: dt.datetime
) -> bool:
    """The breach row, the bot's event and the close action, in the caller's transaction (which
    holds the escalation's row lock). False if this stretch's breach was already recorded."""
    from conversations import escalations, events

    if SlaBreach.objects.filter(escalation=esc, kind=threshold.kind, since=since).exists():
        return False
    owed = threshold.action in (SlaAction.EMAIL, SlaAction.COMMENT)
    breach = SlaBreach.objects.create(
        escalation=esc,
        kind=threshold.kind,
        since=since,
        threshold_seconds=threshold.seconds,
        elapsed_seconds=elapsed_seconds,
        action=threshold.action,
        action_status=ActionStatus.PENDING if owed else ActionStatus.DONE,
    )
    events.emit(
        esc,
        EventType.SLA_BREACHED,
        {
            "kind": threshold.kind,
            "threshold_seconds": threshold.seconds,
            "elapsed_seconds": elapsed_seconds,
            "action": threshold.action,
        },
        dedupe_key=breach.dedupe_key,
        occurred_at=at,
    )
    if threshold.action == SlaAction.CLOSE and threshold.kind != SlaKind.USER_LEFT and esc.is_active:
        escalations.close(esc, reason=CloseReason.WATCHDOG)
    logger.info(
        "escalation %s: SLA %s breached (%s s > %s s)",
        esc.pk,
        threshold.kind,
        elapsed_seconds,
        threshold.seconds,
    )
    return True


def record_user_left(esc: Escalation, *, at: dt.datetime) -> bool:
    """The bot closed with by=user while nobody had taken the conversation: a `user_left` breach
    when the connection (or inbox) has that threshold and the user waited at least its length.
    Called inside the close's transaction, before the close event, so the breach comes first."""
    if esc.status not in WAITING or esc.agent_actor_id:
        return False
    rows = list(SlaThreshold.objects.filter(connection_id=esc.connection_id, kind=SlaKind.USER_LEFT))
    threshold = effective_thresholds(esc.connection_id, esc.inbox_id, rows).get(SlaKind.USER_LEFT)
    if threshold is None:
        return False
    waited = max(0, round((at - esc.created_at).total_seconds()))
    if waited < threshold.seconds:
        return False
    recorded = record_breach(esc, threshold, since=esc.created_at, elapsed_seconds=waited, at=at)
    if recorded and threshold.action in (SlaAction.EMAIL, SlaAction.COMMENT):
        # The email or comment goes out from the sweep; queue one now rather than within a minute.
        transaction.on_commit(lambda: jobs.enqueue(jobs.SWEEP_SLA_WATCHDOGS, what="SLA actions"))
    return recorded


# -- owed actions, outside any lock -------------------------------------------------------------


def comment_text(breach: SlaBreach) -> str:
    minutes = round(breach.elapsed_seconds / 60)
    limit = round(breach.threshold_seconds / 60)
    return (
        f"SLA alert: {breach.get_kind_display().lower()} for {minutes} min (threshold {limit} min). "
        f"Escalation in the HITL portal: {escalation_link(breach.escalation_id)}"
    )


def escalation_link(escalation_id) -> str:
    path = reverse("admin:conversations_escalation_change", args=[escalation_id])
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{path}"


def post_owed_comments() -> int:
    from connections.hubspot import RETRYABLE_ERRORS, HubSpotClient, HubSpotError

    posted = 0
    owed = SlaBreach.objects.filter(
        action=SlaAction.COMMENT, action_status=ActionStatus.PENDING
    ).select_related("escalation__connection")
    for breach in owed:
        esc = breach.escalation
        if not esc.hubspot_thread_id:
            if not esc.is_active:
                _finish(breach, ActionStatus.FAILED, "The escalation never had a HubSpot thread.")
            continue  # the thread is not there yet: the next run tries again
        # The claim: one runner per attempt, so two sweeps cannot post the same comment.
        claimed = SlaBreach.objects.filter(
            pk=breach.pk, action_status=ActionStatus.PENDING, action_attempts=breach.action_attempts
        ).update(action_attempts=F("action_attempts") + 1)
        if not claimed:
            continue
        try:
            HubSpotClient.for_connection(esc.connection).post_comment(
                esc.hubspot_thread_id, comment_text(breach)
            )
        except RETRYABLE_ERRORS as exc:
            if breach.action_attempts + 1 >= MAX_COMMENT_ATTEMPTS:
                _finish(breach, ActionStatus.FAILED, f"HubSpot kept failing: {exc}")
            else:
                SlaBreach.objects.filter(pk=breach.pk).update(action_error=str(exc)[:500])
            continue
        except HubSpotError as exc:
            _finish(breach, ActionStatus.FAILED, f"HubSpot refused the comment: {exc}")
            continue
        _finish(breach, ActionStatus.DONE, "")
        posted += 1
    return posted


def _finish(breach: SlaBreach, status: str, error: str) -> None:
    SlaBreach.objects.filter(pk=breach.pk).update(
        action_status=status, action_error=error[:500], action_done_at=timezone.now()
    )


def send_owed_emails(*, now: dt.datetime) -> int:
    """One email per organisation listing its breaches owed an email; returns emails sent."""
    with transaction.atomic():
        # Taken (marked done) before sending, so a concurrent run cannot send them again; put
        # back as owed if the mail server refuses.
        owed = list(
            SlaBreach.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(action=SlaAction.EMAIL, action_status=ActionStatus.PENDING)
            .select_related("escalation__connection")
            .order_by("created_at")
        )
        SlaBreach.objects.filter(pk__in=[b.pk for b in owed]).update(
            action_status=ActionStatus.DONE, action_done_at=now, action_attempts=F("action_attempts") + 1
        )
    by_tenant: dict[int, list[SlaBreach]] = defaultdict(list)
    for breach in owed:
        by_tenant[breach.escalation.connection.tenant_id].append(breach)
    sent = 0
    for tenant_id, breaches in by_tenant.items():
        leads = sorted(
            set(
                Membership.objects.filter(tenant_id=tenant_id, role=Role.SUPPORT_LEAD, user__is_active=True)
                .exclude(user__email="")
                .values_list("user__email", flat=True)
            )
        )
        pks = [b.pk for b in breaches]
        if not leads:
            SlaBreach.objects.filter(pk__in=pks).update(
                action_status=ActionStatus.FAILED,
                action_error="The organisation has no support lead with an email.",
            )
            continue
        subject, body = email_text(breaches)
        try:
            send_mail(subject, body, None, leads)
        except Exception as exc:  # smtplib.SMTPException, OSError: the mail server, not us
            logger.warning("SLA email for organisation %s not sent: %s", tenant_id, type(exc).__name__)
            for breach in breaches:
                failed = breach.action_attempts + 1 >= MAX_EMAIL_ATTEMPTS
                SlaBreach.objects.filter(pk=breach.pk).update(
                    action_status=ActionStatus.FAILED if failed else ActionStatus.PENDING,
                    action_error=f"The mail server refused: {type(exc).__name__}",
                )
            continue
        sent += 1
    return sent


def email_text(breaches: list[SlaBreach]) -> tuple[str, str]:
    count = len(breaches)
    subject = f"SLA alert: {count} breach{'es' if count != 1 else ''} in your HubSpot hand-offs"
    lines = ["These escalations ran over an SLA threshold:", ""]
    for breach in breaches:
        esc = breach.escalation
        lines += [
            f"- {breach.get_kind_display()}: {round(breach.elapsed_seconds / 60)} min "
            f"(threshold {round(breach.threshold_seconds / 60)} min)",
            f"  {esc.title} ({esc.user_name}, {esc.get_status_display().lower()})",
            f"  {escalation_link(esc.pk)}",
            "",
        ]
    return subject, "\n".join(lines)
