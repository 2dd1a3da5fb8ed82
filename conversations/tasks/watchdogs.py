"""The SLA watchdogs' sweep (conversations/watchdogs.py), run by beat and after a `user_left`
breach that owes an email or a comment. Idempotent: a breach is recorded once per stretch, a
comment is claimed before it is posted and emails are taken before they are sent."""

from celery import shared_task

from conversations import watchdogs


@shared_task(acks_late=True, ignore_result=True)
def sweep_sla_watchdogs() -> dict:
    return watchdogs.sweep()


__all__ = ["sweep_sla_watchdogs"]
