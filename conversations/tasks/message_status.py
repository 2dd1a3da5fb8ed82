"""Retrying a message status report HubSpot refused for now (a 429, a 5xx, no answer).

The first try is made where the callback was delivered (conversations/message_status.py); only a
refusal worth retrying comes here, with HubSpot's wait as the countdown. The PATCH sets the same
status however often it is sent, so a duplicate task is harmless (`acks_late`). After MAX_RETRIES
the report is given up, logged: it is a badge in the agent's inbox, and the bot has its message.
"""

from __future__ import annotations

from celery import shared_task

from connections.hubspot import RETRYABLE_ERRORS, HubSpotError
from connections.hubspot.countdown import task_countdown
from conversations import message_status
from conversations.models import EscalationEvent

MAX_RETRIES = 5  # about a minute of backoff without a Retry-After


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=MAX_RETRIES)
def report_message_status(self, event_id: str, status: str) -> bool:
    """True once HubSpot took the status; False when given up or there is nothing to report."""
    event = EscalationEvent.objects.select_related("escalation").filter(pk=event_id).first()
    if event is None:
        return False
    try:
        return message_status.patch_status(event, status)
    except RETRYABLE_ERRORS as exc:
        if self.request.is_eager or self.request.retries >= self.max_retries:
            message_status.log_not_reported(event, status, exc)
            return False
        # countdown: the first try was the drain's, so this task's retries back off from 2 s
        raise self.retry(exc=exc, countdown=task_countdown(self.request.retries + 1, exc)) from None
    except HubSpotError as exc:
        message_status.log_not_reported(event, status, exc)
        return False


__all__ = ["report_message_status"]
