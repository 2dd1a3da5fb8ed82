"""What an admin may do to an escalation from the console: retry failed callbacks, resend a
failed publish, close it. Each returns an Outcome (done or not, a sentence for the person, details
for the audit entry); the admin's action mechanism (core/admin_actions.py) shows the sentence and
writes the one audit entry.

Resending reuses the message rows as they are, so each keeps its integrationIdempotencyId
(`<escalation id>:<position>`): if HubSpot did take a message we believe failed, the resend is
answered with the original message instead of creating a second one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from conversations import delivery, escalations
from conversations.models import (
    CloseReason,
    Escalation,
    EscalationStatus,
    MessageDirection,
    PublishStatus,
)


@dataclass
class Outcome:
    ok: bool
    message: str
    details: dict = field(default_factory=dict)


def retry_callbacks(esc: Escalation, *, user) -> Outcome:
    count = delivery.retry_failed(esc)
    if count:
        return Outcome(
            True,
            f"Re-queued {count} failed callback{'s' if count != 1 else ''} for the bot.",
            {"events": count},
        )
    return Outcome(False, "No callback of this escalation has failed: nothing to retry.", {"events": 0})


def resend_failed_publish(esc: Escalation, *, user) -> Outcome:
    """FAILED messages back to PENDING and the publish task scheduled (after commit).

    Not for a FAILED escalation: the bot was told `escalation.failed` and has fallen back, and the
    publisher never resumes a failed hand-off (closed and failed are terminal, lifecycle.py). The
    bot starts a new escalation for that conversation instead.
    """
    if esc.status == EscalationStatus.FAILED:
        outcome = Outcome(
            False,
            f"This escalation failed ({esc.get_failure_reason_display() or esc.failure_reason}) and the "
            "bot was told so; its messages are not resent. The bot can start a new escalation.",
        )
    else:
        with transaction.atomic():
            count = esc.messages.filter(
                direction=MessageDirection.TO_AGENT, publish_status=PublishStatus.FAILED
            ).update(publish_status=PublishStatus.PENDING, publish_error="")
            if count:
                transaction.on_commit(lambda: escalations.schedule_publish(esc.pk))
        if count:
            outcome = Outcome(True, f"Resending {count} message{'s' if count != 1 else ''} to HubSpot.")
        else:
            outcome = Outcome(False, "No message of this escalation failed to publish: nothing to resend.")
    return outcome


def close(esc: Escalation, *, user) -> Outcome:
    """Close as the bot API's close does: final at once, the HubSpot thread closed by a task;
    recorded as closed by this admin (the bot's callback says `admin_closed`)."""
    if escalations.close(esc, reason=CloseReason.ADMIN_CLOSED, by=user):
        outcome = Outcome(True, "Closed the escalation; the HubSpot thread is being closed.")
    else:
        outcome = Outcome(False, f"The escalation is already {esc.get_status_display().lower()}.")
    return outcome
