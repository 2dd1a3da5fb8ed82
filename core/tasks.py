"""Platform tasks."""

import socket

from celery import shared_task
from django.utils import timezone

from core.models import WorkerPing


@shared_task(bind=True, max_retries=5, retry_backoff=True, acks_late=True)
def answer_worker_ping(self, ping_id: str) -> None:
    # Idempotent: a redelivered ping that was already answered changes nothing.
    hostname = self.request.hostname or socket.gethostname()
    updated = WorkerPing.objects.filter(pk=ping_id, completed_at__isnull=True).update(
        completed_at=timezone.now(), worker=hostname[:255]
    )
    if not updated and not WorkerPing.objects.filter(pk=ping_id).exists():
        # Enqueued on commit, so the row should exist; retry in case of a lagging replica.
        raise self.retry(countdown=1)
