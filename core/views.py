"""Operator endpoints: queue round trip."""

import datetime as dt

from django.contrib.auth.decorators import user_passes_test
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from core import jobs
from core.models import WorkerPing


def _ping_json(ping: WorkerPing) -> dict:
    return {
        "id": str(ping.id),
        "requested_at": ping.requested_at.isoformat(),
        "completed_at": ping.completed_at.isoformat() if ping.completed_at else None,
        "worker": ping.worker or None,
        "url": reverse("core:worker-ping-detail", args=[ping.id]),
    }


# An operator's tool: it tells whether the queue and workers are up, nothing a tenant needs.
superuser_required = user_passes_test(
    lambda user: user.is_active and user.is_superuser, login_url="admin:login"
)
# Pings are kept long enough to read the answer, then pruned (each ping would otherwise stay forever).
KEEP_PINGS = dt.timedelta(days=1)


@superuser_required
@require_POST
def worker_ping_create(request):
    WorkerPing.objects.filter(requested_at__lt=timezone.now() - KEEP_PINGS).delete()
    ping = WorkerPing.objects.create(requested_by=request.user)
    jobs.enqueue_on_commit(jobs.ANSWER_WORKER_PING, str(ping.id), what=f"worker ping {ping.id}")
    return JsonResponse(_ping_json(ping), status=202)


@superuser_required
@require_GET
def worker_ping_detail(request, ping_id):
    return JsonResponse(_ping_json(get_object_or_404(WorkerPing, pk=ping_id)))
