"""Reprocessing stored HubSpot events on request (the webhook log's "reprocess" action).

What happens to each selected event depends on its status:

* **failed** or **ignored**: back to pending and run again through `process_hubspot_events`, the
  same task and dispatch table as a fresh delivery. Worth it after the cause is fixed: HubSpot was
  down, the connection for the portal did not exist yet, the thread was not mapped yet.
* **pending**: queued again as it is (a task lost with a broker outage leaves events pending). If
  a retry of it is in fact still scheduled, the two runs are harmless together: the lifecycle locks
  the escalation row and makes one bot event per cause.
* **processed**: left alone. Its effects are already applied; running it again could only repeat
  them, and the lifecycle would refuse that anyway (one bot event per cause). Reported as skipped.

Re-running is safe because processing is idempotent end to end: dispatch skips what is processed,
and each lifecycle change creates at most one bot event per cause (EscalationEvent is unique per
escalation and dedupe key), so an event whose effects were applied before it failed cannot
produce a second message for the bot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from conversations.models import HubSpotEvent, WebhookReceipt
from core import jobs

REQUEUED = (HubSpotEvent.Status.FAILED, HubSpotEvent.Status.IGNORED, HubSpotEvent.Status.PENDING)


@dataclass
class Reprocessed:
    queued: dict[str, int] = field(default_factory=dict)  # previous status -> count
    skipped_processed: int = 0

    @property
    def queued_total(self) -> int:
        return sum(self.queued.values())

    def message(self) -> str:
        parts = []
        if self.queued_total:
            detail = ", ".join(f"{n} {status}" for status, n in sorted(self.queued.items()))
            parts.append(f"Queued {self.queued_total} event(s) for processing again ({detail}).")
        if self.skipped_processed:
            parts.append(
                f"{self.skipped_processed} already processed event(s) left as they are: "
                "their changes are applied, running them again would change nothing."
            )
        return " ".join(parts) or "No event selected."


def reprocess(events, *, requested_by: str = "") -> Reprocessed:
    """Re-queue the failed, ignored and pending events among `events` (a queryset); see above."""
    outcome = Reprocessed()
    rows = list(events.values_list("pk", "status"))
    ids = [pk for pk, status in rows if status in REQUEUED]
    for _, status in rows:
        if status in REQUEUED:
            outcome.queued[status] = outcome.queued.get(status, 0) + 1
        else:
            outcome.skipped_processed += 1
    if not ids:
        return outcome
    note = f"Reprocess requested by {requested_by}." if requested_by else "Reprocess requested."
    with transaction.atomic():
        # Only rows still in a re-queueable state: one processed meanwhile by a worker stays processed.
        HubSpotEvent.objects.filter(pk__in=ids, status__in=REQUEUED).update(
            status=HubSpotEvent.Status.PENDING,
            result=note,
            processed_at=None,
            retry_at=None,
            claimed_until=None,
        )
        # Their receipts are unfinished again until the task settles them (processed or failed).
        receipts = HubSpotEvent.objects.filter(pk__in=ids).values("receipt_id")
        WebhookReceipt.objects.filter(pk__in=receipts).update(
            status=WebhookReceipt.Status.RECEIVED, processed_at=None
        )
        jobs.enqueue_on_commit(
            jobs.PROCESS_HUBSPOT_EVENTS, ids, what=f"reprocess of {len(ids)} HubSpot event(s)"
        )
    return outcome


__all__ = ["Reprocessed", "reprocess"]
